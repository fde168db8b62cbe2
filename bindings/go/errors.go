package rustimg

/*
#include <rustimg.h>
*/
import "C"

import (
	"fmt"
)

// Code is a rustimg error class, the C API's RUSTIMG_E* value.
type Code int

// The error codes; compare with errors.Is(err, rustimg.ErrNotFound) etc.
const (
	CodeGeneric         Code = C.RUSTIMG_ERROR
	CodeInvalidArgument Code = C.RUSTIMG_EINVALID
	CodeNotFound        Code = C.RUSTIMG_ENOTFOUND
	CodeIO              Code = C.RUSTIMG_EIO
	CodeSpec            Code = C.RUSTIMG_ESPEC
	CodeELF             Code = C.RUSTIMG_EELF
	CodeVerify          Code = C.RUSTIMG_EVERIFY
	CodeCargo           Code = C.RUSTIMG_ECARGO
	CodeRegistry        Code = C.RUSTIMG_EREGISTRY
	CodeAuth            Code = C.RUSTIMG_EAUTH
	CodeCancelled       Code = C.RUSTIMG_ECANCELLED
	CodeUnsupported     Code = C.RUSTIMG_EUNSUPPORTED
)

// Sentinels for errors.Is: an *Error matches the sentinel of its code.
var (
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrIO              = &Error{Code: CodeIO}
	ErrSpec            = &Error{Code: CodeSpec}
	ErrELF             = &Error{Code: CodeELF}
	ErrVerify          = &Error{Code: CodeVerify}
	ErrCargo           = &Error{Code: CodeCargo}
	ErrRegistry        = &Error{Code: CodeRegistry}
	ErrAuth            = &Error{Code: CodeAuth}
	ErrCancelled       = &Error{Code: CodeCancelled}
	ErrUnsupported     = &Error{Code: CodeUnsupported}
)

// Error is every error the library returns. Use errors.As to get it.
type Error struct {
	Code    Code
	Class   string   // stable short name: "spec", "elf", "registry", ...
	Message string   // the full message, naming the input and the fix
	Details []string // one entry per problem (spec errors list every invalid value)
	// HTTPStatus and RegistryCode describe a registry failure (0 and "" otherwise).
	HTTPStatus   int
	RegistryCode string
	// Err is the context's error (context.Canceled or
	// context.DeadlineExceeded) when the caller's context ended the call, so
	// errors.Is(err, context.DeadlineExceeded) holds; nil otherwise.
	Err error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("rustimg: error %d", int(e.Code))
	}
	return "rustimg: " + e.Message
}

// Unwrap gives errors.Is and errors.As the context's error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, rustimg.ErrSpec) true for every spec error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// takeError converts and frees a C error; rc is the call's return code.
func takeError(rc C.int, cerr *C.rustimg_error) error {
	if cerr == nil {
		return &Error{Code: Code(rc)}
	}
	defer C.rustimg_error_free(cerr)
	e := &Error{
		Code:         Code(C.rustimg_error_code(cerr)),
		Class:        C.GoString(C.rustimg_error_class(cerr)),
		Message:      C.GoString(C.rustimg_error_message(cerr)),
		HTTPStatus:   int(C.rustimg_error_http_status(cerr)),
		RegistryCode: C.GoString(C.rustimg_error_registry_code(cerr)),
	}
	n := int(C.rustimg_error_detail_count(cerr))
	for i := 0; i < n; i++ {
		e.Details = append(e.Details, C.GoString(C.rustimg_error_detail(cerr, C.size_t(i))))
	}
	return e
}
