package main

import "fmt"

func cmdBench(args []string) int {
	fmt.Println("wiretag bench: not implemented yet")
	return 1
}
