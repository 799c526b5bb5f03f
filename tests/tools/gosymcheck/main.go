// Command gosymcheck is a test oracle: it reads a binary's pclntab with Go's own
// debug/gosym and prints, one per line, "functions N" and "pprof true|false" (whether any
// function is in net/http/pprof). goready's tests compare its own parser with this.
//
// gosymcheck -funcs BINARY prints every function name of the table (debug/gosym's
// Table.Funcs), one per line, in table order.
//
// gosymcheck -inlined BINARY prints, sorted and unique, the name of every function that the
// DWARF debug info (debug/dwarf) shows inlined somewhere: the DW_AT_name of the abstract
// origin of each DW_TAG_inlined_subroutine. It needs an unstripped binary.
package main

import (
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	mode := ""
	args := os.Args[1:]
	if len(args) == 2 && strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if len(args) != 1 || (mode != "" && mode != "-funcs" && mode != "-inlined") {
		fmt.Fprintln(os.Stderr, "usage: gosymcheck [-funcs|-inlined] BINARY")
		os.Exit(2)
	}
	if mode == "-inlined" {
		names, err := inlined(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	data, text, err := pclntab(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if mode == "-funcs" {
		for _, f := range table.Funcs {
			fmt.Println(f.Name)
		}
		return
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

// inlined returns the names of the abstract origins of every DW_TAG_inlined_subroutine.
func inlined(path string) ([]string, error) {
	d, err := debugInfo(path)
	if err != nil {
		return nil, err
	}
	origins := map[dwarf.Offset]bool{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagInlinedSubroutine {
			continue
		}
		if off, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset); ok {
			origins[off] = true
		}
	}
	seen := map[string]bool{}
	for off := range origins {
		r.Seek(off)
		e, err := r.Next()
		if err != nil || e == nil {
			return nil, fmt.Errorf("abstract origin at %#x: %v", off, err)
		}
		if name, ok := e.Val(dwarf.AttrName).(string); ok {
			seen[name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func debugInfo(path string) (*dwarf.Data, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		return f.DWARF()
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		return f.DWARF()
	}
	if f, err := pe.Open(path); err == nil {
		defer f.Close()
		return f.DWARF()
	}
	return nil, fmt.Errorf("%s: not ELF, Mach-O or PE", path)
}
