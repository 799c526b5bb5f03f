// Command gosymcheck is a test oracle: it reads a binary's pclntab with Go's own
// debug/gosym and prints, one per line, "functions N" and "pprof true|false" (whether any
// function is in net/http/pprof). goready's tests compare its own parser with this.
package main

import (
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gosymcheck BINARY")
		os.Exit(2)
	}
	data, text, err := pclntab(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pprof := false
	for _, f := range table.Funcs {
		if strings.HasPrefix(f.Name, "net/http/pprof.") {
			pprof = true
		}
	}
	fmt.Printf("functions %d\npprof %v\n", len(table.Funcs), pprof)
}

func pclntab(path string) ([]byte, uint64, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		s := f.Section(".gopclntab")
		if s == nil {
			return nil, 0, fmt.Errorf("no .gopclntab")
		}
		data, err := s.Data()
		return data, f.Section(".text").Addr, err
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		s := f.Section("__gopclntab")
		if s == nil {
			return nil, 0, fmt.Errorf("no __gopclntab")
		}
		data, err := s.Data()
		return data, f.Section("__text").Addr, err
	}
	if f, err := pe.Open(path); err == nil {
		defer f.Close()
		// PE has no pclntab section: use the runtime.pclntab/epclntab symbols (unstripped only).
		var start, end *pe.Symbol
		for _, s := range f.Symbols {
			switch s.Name {
			case "runtime.pclntab":
				start = s
			case "runtime.epclntab":
				end = s
			}
		}
		if start == nil || end == nil || start.SectionNumber != end.SectionNumber {
			return nil, 0, fmt.Errorf("no runtime.pclntab symbols (stripped PE)")
		}
		sect := f.Sections[start.SectionNumber-1]
		data, err := sect.Data()
		if err != nil {
			return nil, 0, err
		}
		return data[start.Value:end.Value], 0, nil
	}
	return nil, 0, fmt.Errorf("%s: not ELF, Mach-O or PE", path)
}
