package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kharness/results"
)

func main() {
	for _, d := range os.Args[1:] {
		bench, _ := os.ReadFile(filepath.Join(d, "boot.bench"))
		raw, _ := os.ReadFile(filepath.Join(d, "insns.raw"))
		var s results.Stream
		for _, l := range strings.Split(string(bench), "\n") {
			if c, ok := strings.CutPrefix(l, "# "); ok {
				s.Comments = append(s.Comments, c)
			}
		}
		rs, err := results.InsnsResults(&s, raw)
		if err != nil {
			fmt.Println(d, err)
			continue
		}
		fmt.Print(filepath.Base(filepath.Dir(d)), " ")
		for _, r := range rs {
			fmt.Printf("%s=%.2f/%.2f ", strings.Split(r.Name, "/")[0], r.Values[0].Value, r.Values[1].Value)
		}
		fmt.Println()
	}
}
