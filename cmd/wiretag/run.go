package main

import "fmt"

func cmdRun(args []string) int {
	fmt.Println("wiretag run: not implemented yet")
	return 1
}
