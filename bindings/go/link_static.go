//go:build rustimg_static

package rustimg

// With -tags rustimg_static: link librustimg.a (rustimg-static.pc names it
// and every system library it needs), so the program needs no librustimg.so
// where it runs. That archive calls libcurl directly instead of loading it
// with dlopen, which a static binary cannot do. Go's build cache does not
// see .pc files or the archive: build with -a after switching tags,
// PKG_CONFIG_PATH or rebuilding the C library.

// #cgo pkg-config: rustimg-static
import "C"
