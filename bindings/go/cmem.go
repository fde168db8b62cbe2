package rustimg

/*
#include <stdlib.h>
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// cArena owns C memory made for one call; free releases all of it.
type cArena struct{ ptrs []unsafe.Pointer }

// str returns s as a C string, or NULL for "" (the C API's "not given").
func (a *cArena) str(s string) *C.char {
	if s == "" {
		return nil
	}
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// jsonStr returns v as a JSON C string, or NULL when v is nil.
func (a *cArena) jsonStr(v map[string]any) (*C.char, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Message: "overrides are not JSON: " + err.Error()}
	}
	return a.str(string(b)), nil
}

// alloc returns n bytes of zeroed C memory.
func (a *cArena) alloc(n uintptr) unsafe.Pointer {
	p := C.calloc(1, C.size_t(n))
	a.ptrs = append(a.ptrs, p)
	return p
}

func (a *cArena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}
