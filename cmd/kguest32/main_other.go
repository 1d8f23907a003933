//go:build !(linux && 386)

// Command kguest32 is the guest's 32-bit helper (see main.go); it is built
// only as linux/386.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "kguest32 runs only as linux/386: build it with GOOS=linux GOARCH=386")
	os.Exit(2)
}
