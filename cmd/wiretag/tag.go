package main

import "fmt"

func cmdTag(args []string) int {
	fmt.Println("wiretag tag: not implemented yet")
	return 1
}
