package main

import "fmt"

func cmdLint(args []string) int {
	fmt.Println("wiretag lint: not implemented yet")
	return 1
}
