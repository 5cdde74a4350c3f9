package main

import "fmt"

func cmdEval(args []string) int {
	fmt.Println("wiretag eval: not implemented yet")
	return 1
}
