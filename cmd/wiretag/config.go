package main

import "fmt"

func cmdConfig(args []string) int {
	fmt.Println("wiretag config: not implemented yet")
	return 1
}
