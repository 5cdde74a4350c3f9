package main

import "fmt"

func cmdDemo(args []string) int {
	fmt.Println("wiretag demo: not implemented yet")
	return 1
}
