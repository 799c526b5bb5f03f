// Command pprofgen writes a large allocation profile for the `goready pprof` benchmark
// (bench/pprof.sh): every allocation is recorded (MemProfileRate=1) and each of 2^depth
// call paths through a binary tree of calls allocates once, so the profile holds more
// than a million distinct stacks.
//
//	pprofgen -o big.pb.gz [-depth 20]
package main

import (
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
)

func init() { runtime.MemProfileRate = 1 }

var sink [][]byte

// left and right each call one of the two at their own call sites, so the return
// addresses on the stack spell out the path: 2^depth distinct stacks.
//
//go:noinline
func left(depth int, path, id uint32) {
	if depth == 0 {
		leaf(id)
		return
	}
	if path&1 == 0 {
		left(depth-1, path>>1, id)
	} else {
		right(depth-1, path>>1, id)
	}
}

//go:noinline
func right(depth int, path, id uint32) {
	if depth == 0 {
		leaf(id)
		return
	}
	if path&1 == 0 {
		left(depth-1, path>>1, id)
	} else {
		right(depth-1, path>>1, id)
	}
}

// leaf allocates in one of a few sites, with sizes that differ by site and by path (so
// the values, like the stacks, vary from sample to sample).
//
//go:noinline
func leaf(id uint32) {
	switch id % 7 {
	case 0:
		sink[id] = allocLarge(1024 + int(id%13)*64)
	case 1, 2:
		sink[id] = allocMedium(256 + int(id%11)*16)
	default:
		sink[id] = allocSmall(16 + int(id%5)*8)
	}
}

//go:noinline
func allocLarge(n int) []byte { return make([]byte, n) }

//go:noinline
func allocMedium(n int) []byte { return make([]byte, n) }

//go:noinline
func allocSmall(n int) []byte { return make([]byte, n) }

func main() {
	out := flag.String("o", "big.pb.gz", "where to write the allocs profile")
	depth := flag.Int("depth", 20, "call tree depth: 2^depth distinct stacks")
	flag.Parse()
	n := uint32(1) << *depth
	sink = make([][]byte, n)
	for p := uint32(0); p < n; p++ {
		left(*depth, p, p)
	}
	sink = nil
	runtime.GC()
	runtime.GC()
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
}
