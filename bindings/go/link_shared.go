//go:build !rustimg_static

package rustimg

// The default: link librustimg.so, found with pkg-config (rustimg.pc). The
// program then needs librustimg.so where it runs.

// #cgo pkg-config: rustimg
import "C"
