package layout

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlow: every package of the module is in Flow, and imports only
// packages of earlier groups.
func TestFlow(t *testing.T) {
	rank := map[string]int{}
	for i, g := range Flow {
		for _, p := range g {
			rank[p] = i
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "kharness/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := f[0]
		n++
		r, ok := rank[pkg]
		if !ok {
			t.Errorf("package %s is not in layout.Flow: place it in the pipeline", pkg)
			continue
		}
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, "kharness/") {
				continue
			}
			if ri, ok := rank[imp]; ok && ri >= r {
				t.Errorf("%s (group %d) imports %s (group %d): an arrow back up the pipeline", pkg, r, imp, ri)
			}
		}
	}
	if n < 15 {
		t.Errorf("go list named %d packages; want the module's", n)
	}
}

// TestSizes: no Go file outside tests over MaxFileLines lines, and no
// function over MaxFuncLines.
func TestSizes(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "runs" || n == "testdata" || n == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		if n := bytes.Count(src, []byte("\n")); n > MaxFileLines {
			t.Errorf("%s: %d lines, more than %d", path, n, MaxFileLines)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > MaxFuncLines {
					t.Errorf("%s: func %s: %d lines, more than %d", path, fd.Name.Name, n, MaxFuncLines)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Errorf("walked %d Go files; want the module's", files)
	}
}
