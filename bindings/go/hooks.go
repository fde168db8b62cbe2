package rustimg

/*
#include <stdint.h>
#include <rustimg.h>
*/
import "C"

import (
	"context"
	"errors"
	"runtime/cgo"
	"unsafe"
)

// callHooks ties one C call to a context (a cancel token raised when ctx
// ends) and to an optional progress func (a cgo.Handle kept in C memory, so
// no Go pointer crosses into C). close releases both.
type callHooks struct {
	token   *C.rustimg_cancel_token
	payload unsafe.Pointer // nil when there is no progress func
	handle  cgo.Handle
	done    chan struct{}
	stopped chan struct{}
}

func newCallHooks(ctx context.Context, progress func(ProgressEvent), mem *cArena) (*callHooks, error) {
	h := &callHooks{done: make(chan struct{}), stopped: make(chan struct{})}
	var cerr *C.rustimg_error
	if rc := C.rustimg_cancel_token_new(&h.token, &cerr); rc < 0 {
		return nil, takeError(rc, cerr)
	}
	go func() {
		defer close(h.stopped)
		select {
		case <-ctx.Done():
			C.rustimg_cancel_token_cancel(h.token)
		case <-h.done:
		}
	}()
	if progress != nil {
		h.handle = cgo.NewHandle(&progressState{fn: progress, ctx: ctx})
		slot := (*C.uintptr_t)(mem.alloc(unsafe.Sizeof(C.uintptr_t(0))))
		*slot = C.uintptr_t(h.handle)
		h.payload = unsafe.Pointer(slot)
	}
	return h, nil
}

func (h *callHooks) close() {
	close(h.done)
	<-h.stopped
	C.rustimg_cancel_token_free(h.token)
	if h.payload != nil {
		h.handle.Delete()
	}
}

// endedBy explains a cancelled call's error: the library only knows it was
// told to stop, the context knows why. When ctx ended the call the error
// unwraps to ctx.Err() and its message ends with the cause ("cancelled
// during PUT ...: context deadline exceeded").
func endedBy(ctx context.Context, err error) error {
	var e *Error
	if ctx.Err() == nil || !errors.As(err, &e) || e.Code != CodeCancelled {
		return err
	}
	e.Err = ctx.Err()
	if e.Message == "" {
		e.Message = "cancelled"
	}
	e.Message += ": " + context.Cause(ctx).Error()
	return err
}
