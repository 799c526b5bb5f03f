// Command modproxy lays out one module version as a GOPROXY directory (the protocol of
// https://go.dev/ref/mod#goproxy-protocol), so tests can use GOPROXY=file://DIR without a
// network: OUTDIR/MODPATH/@v/{list,VERSION.info,VERSION.mod,VERSION.zip}.
//
// Usage: modproxy OUTDIR MODPATH VERSION SRCDIR
package main

import (
	"archive/zip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: modproxy OUTDIR MODPATH VERSION SRCDIR")
		os.Exit(2)
	}
	out, mod, version, src := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	dir := filepath.Join(out, filepath.FromSlash(strings.ToLower(mod)), "@v")
	must(os.MkdirAll(dir, 0o755))
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	must(err)
	must(appendLine(filepath.Join(dir, "list"), version))
	must(os.WriteFile(filepath.Join(dir, version+".info"),
		[]byte(fmt.Sprintf(`{"Version":%q,"Time":"2024-01-02T03:04:05Z"}`, version)), 0o644))
	must(os.WriteFile(filepath.Join(dir, version+".mod"), gomod, 0o644))
	f, err := os.Create(filepath.Join(dir, version+".zip"))
	must(err)
	zw := zip.NewWriter(f)
	must(filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		w, err := zw.Create(mod + "@" + version + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}))
	must(zw.Close())
	must(f.Close())
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}
