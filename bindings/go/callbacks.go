package rustimg

/*
#include <stdint.h>
#include <rustimg.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export goProgress
func goProgress(event *C.rustimg_progress_event, payload unsafe.Pointer) C.int {
	h := cgo.Handle(*(*C.uintptr_t)(payload))
	state := h.Value().(*progressState)
	if state.ctx.Err() != nil {
		return 1 // cancelled: stop at this step
	}
	if state.fn != nil {
		state.fn(ProgressEvent{Stage: C.GoString(event.stage), Message: C.GoString(event.message)})
	}
	return 0
}
