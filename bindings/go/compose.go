package rustimg

/*
#include <stdlib.h>
#include <rustimg.h>
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Composition: layers and images as values, as in go-containerregistry's
// mutate package. A Layer, Image or Index is immutable (every change gives a
// new value) and holds a C handle: Close releases it (a finalizer does it for
// values that are dropped unclosed, but only Close frees it when you say so).
// Closing a value never affects values made from it. The accessors (Digest,
// ConfigJSON, ...) are read when the value is made and stay valid after Close;
// calls that make a new value or write one return an error once it is closed.
// Close on a nil value does nothing; a nil value passed to or used for any
// other call is an error matching ErrInvalidArgument.

// handle guards one C handle. Calls that use it hold the read lock and Close
// takes the write lock, so Close never frees a handle a call is using.
// P is a pointer to an opaque C type (cgo cannot take the type itself).
type handle[P comparable] struct {
	mu   sync.RWMutex
	p    P
	free func(P)
}

// use runs fn with the handle held for reading; what names the value in the
// error when it was closed.
func (h *handle[P]) use(what string, fn func(P) error) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed() {
		return closedError(what)
	}
	return fn(h.p)
}

func (h *handle[P]) closed() bool {
	var none P
	return h.p == none
}

func (h *handle[P]) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed() {
		h.free(h.p)
		var none P
		h.p = none
	}
}

func invalidArgument(format string, args ...any) error {
	return &Error{Code: CodeInvalidArgument, Class: "invalid_argument", Message: fmt.Sprintf(format, args...)}
}

func closedError(what string) error {
	return invalidArgument("the %s was closed: use it before calling Close", what)
}

// nilError is the error of a call given a nil value (or made on one).
func nilError(what string) error { return invalidArgument("%s is nil", what) }

// cUint converts a uid or gid for the C API, which takes unsigned values.
// (uint64(v): a constant above MaxInt32 compared with an int does not
// compile for 32-bit targets.)
func cUint(name string, v int) (C.uint, error) {
	if v < 0 || uint64(v) > math.MaxUint32 {
		return 0, invalidArgument("%s %d is out of range: give a value from 0 to %d", name, v, uint32(math.MaxUint32))
	}
	return C.uint(v), nil
}

// cMode converts a mode for the C API's unsigned mode arguments. Only what
// C cannot hold is refused here; the library checks the permission bits.
func cMode(mode int) (C.uint, error) {
	if mode < 0 || uint64(mode) > math.MaxUint32 {
		return 0, modeError(mode)
	}
	return C.uint(mode), nil
}

// cFileMode converts AddFile's mode for the C API's int argument:
// ModeFromHost or permission bits (checked by the library).
func cFileMode(mode int) (C.int, error) {
	if mode == ModeFromHost {
		return C.RUSTIMG_MODE_FROM_HOST, nil
	}
	if mode < 0 || int64(mode) > math.MaxInt32 {
		return 0, invalidArgument("mode %d is out of range: give permission bits from 0 to 0o7777 (e.g. 0o644), or ModeFromHost", mode)
	}
	return C.int(mode), nil
}

func modeError(mode int) error {
	return invalidArgument("mode %d is out of range: give permission bits from 0 to 0o7777 (e.g. 0o644)", mode)
}

// call runs one C call that only reports an error.
func call(fn func(**C.rustimg_error) C.int) error {
	var cerr *C.rustimg_error
	if rc := fn(&cerr); rc < 0 {
		return takeError(rc, cerr)
	}
	return nil
}

// ModeFromHost, as AddFile's mode, takes 0755 when the host file has any
// execute bit and 0644 otherwise (the C API's RUSTIMG_MODE_FROM_HOST).
const ModeFromHost = C.RUSTIMG_MODE_FROM_HOST

// LayerBuilder collects the entries of one layer. Paths in the image are
// absolute or relative to "/" ("/etc//x" is "etc/x"); "..", NUL and the root
// itself are refused; parent directories nobody adds appear as 0755
// root:root; adding a path twice is an error naming it, except a directory
// twice (the later owner and mode win). Host files are read by Build, not
// when added. Modes are Unix permission bits (0o755, 0o4755); uid and gid are
// numeric. A LayerBuilder may be used from several goroutines.
type LayerBuilder struct {
	h  handle[*C.rustimg_layer_builder]
	mu sync.Mutex // the C builder is not thread-safe: one call at a time
}

// NewLayerBuilder returns an empty builder; Close it when done.
func NewLayerBuilder() (*LayerBuilder, error) {
	var p *C.rustimg_layer_builder
	if err := call(func(cerr **C.rustimg_error) C.int { return C.rustimg_layer_builder_new(&p, cerr) }); err != nil {
		return nil, err
	}
	b := &LayerBuilder{h: handle[*C.rustimg_layer_builder]{p: p,
		free: func(p *C.rustimg_layer_builder) { C.rustimg_layer_builder_free(p) }}}
	runtime.SetFinalizer(b, (*LayerBuilder).Close)
	return b, nil
}

// add runs one add_* call on the builder, exclusively.
func (b *LayerBuilder) add(fn func(*C.rustimg_layer_builder, *cArena, **C.rustimg_error) C.int) error {
	if b == nil {
		return nilError("the layer builder")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var mem cArena
	defer mem.free()
	return b.h.use("layer builder", func(p *C.rustimg_layer_builder) error {
		return call(func(cerr **C.rustimg_error) C.int { return fn(p, &mem, cerr) })
	})
}

// AddFile puts the host file hostPath at imagePath with mode (or
// ModeFromHost), owned by uid:gid. A missing host file matches ErrNotFound,
// one that is not a regular file ErrInvalidArgument.
func (b *LayerBuilder) AddFile(imagePath, hostPath string, mode, uid, gid int) error {
	cmode, err := cFileMode(mode)
	if err != nil {
		return err
	}
	_, cuid, cgid, err := modeOwner(0, uid, gid)
	if err != nil {
		return err
	}
	return b.add(func(p *C.rustimg_layer_builder, mem *cArena, cerr **C.rustimg_error) C.int {
		return C.rustimg_layer_builder_add_file(p, mem.str(imagePath), mem.str(hostPath), cmode, cuid, cgid, cerr)
	})
}

// AddDirectory adds a directory (the layer's root is never one: "/" is refused).
func (b *LayerBuilder) AddDirectory(imagePath string, mode, uid, gid int) error {
	cmode, cuid, cgid, err := modeOwner(mode, uid, gid)
	if err != nil {
		return err
	}
	return b.add(func(p *C.rustimg_layer_builder, mem *cArena, cerr **C.rustimg_error) C.int {
		return C.rustimg_layer_builder_add_directory(p, mem.str(imagePath), cmode, cuid, cgid, cerr)
	})
}

// AddTree adds what hostDir holds, recursively, at imagePath ("/" for the
// image's root), owned by uid:gid; symlinks are kept and nothing outside
// hostDir is read.
func (b *LayerBuilder) AddTree(imagePath, hostDir string, uid, gid int) error {
	_, cuid, cgid, err := modeOwner(0, uid, gid)
	if err != nil {
		return err
	}
	return b.add(func(p *C.rustimg_layer_builder, mem *cArena, cerr **C.rustimg_error) C.int {
		return C.rustimg_layer_builder_add_tree(p, mem.str(imagePath), mem.str(hostDir), cuid, cgid, cerr)
	})
}

// AddSymlink adds a symlink to target, written verbatim (mode 0777).
func (b *LayerBuilder) AddSymlink(imagePath, target string, uid, gid int) error {
	_, cuid, cgid, err := modeOwner(0, uid, gid)
	if err != nil {
		return err
	}
	return b.add(func(p *C.rustimg_layer_builder, mem *cArena, cerr **C.rustimg_error) C.int {
		return C.rustimg_layer_builder_add_symlink(p, mem.str(imagePath), mem.str(target), cuid, cgid, cerr)
	})
}

// AddBytes adds a file holding data (copied: data may change afterwards).
func (b *LayerBuilder) AddBytes(imagePath string, data []byte, mode, uid, gid int) error {
	cmode, cuid, cgid, err := modeOwner(mode, uid, gid)
	if err != nil {
		return err
	}
	return b.add(func(p *C.rustimg_layer_builder, mem *cArena, cerr **C.rustimg_error) C.int {
		var ptr unsafe.Pointer
		if len(data) > 0 {
			ptr = unsafe.Pointer(&data[0]) // bytes only, no Go pointers: C may read it during the call
		}
		rc := C.rustimg_layer_builder_add_bytes(p, mem.str(imagePath), ptr, C.size_t(len(data)), cmode, cuid, cgid, cerr)
		runtime.KeepAlive(data)
		return rc
	})
}

func modeOwner(mode, uid, gid int) (cmode, cuid, cgid C.uint, err error) {
	if cmode, err = cMode(mode); err != nil {
		return
	}
	if cuid, err = cUint("uid", uid); err != nil {
		return
	}
	cgid, err = cUint("gid", gid)
	return
}

// LayerOptions says how a layer's bytes are made; the zero value is the
// pipeline's default (gzip level 6, mtime $SOURCE_DATE_EPOCH or 0).
type LayerOptions struct {
	Compression string // "gzip" (also ""), "zstd" or "none"
	// Level is gzip 1..9 or zstd 1..19; 0: the default (gzip 6, zstd 3).
	// Part of the layer's identity.
	Level int
	// Mtime is every entry's time in seconds since the epoch; nil uses
	// $SOURCE_DATE_EPOCH (else 0). LayerFromTar keeps the tar's own times.
	Mtime *int64
}

// withLayerOptions fills C layer options for one call.
func withLayerOptions(opts LayerOptions, fn func(*C.rustimg_layer_options, **C.rustimg_error) C.int) error {
	var copts C.rustimg_layer_options
	if rc := C.rustimg_layer_options_init(&copts, C.RUSTIMG_LAYER_OPTIONS_VERSION); rc < 0 {
		return &Error{Code: Code(rc), Message: "unsupported options version"}
	}
	if opts.Level < math.MinInt32 || int64(opts.Level) > math.MaxInt32 {
		return invalidArgument("LayerOptions.Level %d is out of range: gzip 1 to 9, zstd 1 to 19, 0 for the default", opts.Level)
	}
	var mem cArena
	defer mem.free()
	copts.compression = mem.str(opts.Compression)
	copts.level = C.int(opts.Level)
	if opts.Mtime != nil {
		copts.mtime = C.longlong(*opts.Mtime)
	}
	return call(func(cerr **C.rustimg_error) C.int { return fn(&copts, cerr) })
}

// Build writes the builder's entries as a layer (the builder is unchanged:
// building twice with the same options gives the same layer). A host file
// that vanished or changed while read is an error naming it.
func (b *LayerBuilder) Build(opts LayerOptions) (*Layer, error) {
	if b == nil {
		return nil, nilError("the layer builder")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out *C.rustimg_layer
	err := b.h.use("layer builder", func(p *C.rustimg_layer_builder) error {
		return withLayerOptions(opts, func(copts *C.rustimg_layer_options, cerr **C.rustimg_error) C.int {
			return C.rustimg_layer_builder_build(&out, p, copts, cerr)
		})
	})
	if err != nil {
		return nil, err
	}
	return newLayer(out), nil
}

// Close releases the builder; it is idempotent.
func (b *LayerBuilder) Close() error {
	if b == nil {
		return nil
	}
	b.h.close()
	return nil
}

// Layer is a written layer: a compressed tar blob with its digests.
type Layer struct {
	h         handle[*C.rustimg_layer]
	digest    string
	diffID    string
	mediaType string
	size      int64
}

// LayerFromTar makes a layer of an existing tar file (plain, gzip or zstd),
// checked as hostile input. Each entry is written again with its name, type,
// mode, owner ids, whole-second mtime, link target and data, in the tar's
// order (user and group names, extended attributes and sub-second times are
// dropped), so a tar rustimg wrote keeps its DiffID; compressed as opts say.
func LayerFromTar(tarPath string, opts LayerOptions) (*Layer, error) {
	var mem cArena
	defer mem.free()
	var out *C.rustimg_layer
	err := withLayerOptions(opts, func(copts *C.rustimg_layer_options, cerr **C.rustimg_error) C.int {
		return C.rustimg_layer_from_tar(&out, mem.str(tarPath), copts, cerr)
	})
	if err != nil {
		return nil, err
	}
	return newLayer(out), nil
}

func newLayer(p *C.rustimg_layer) *Layer {
	l := &Layer{
		h:         handle[*C.rustimg_layer]{p: p, free: func(p *C.rustimg_layer) { C.rustimg_layer_free(p) }},
		digest:    C.GoString(C.rustimg_layer_digest(p)),
		diffID:    C.GoString(C.rustimg_layer_diff_id(p)),
		mediaType: C.GoString(C.rustimg_layer_media_type(p)),
		size:      int64(C.rustimg_layer_size(p)),
	}
	runtime.SetFinalizer(l, (*Layer).Close)
	return l
}

func (l *Layer) Digest() string    { return l.digest }    // of the compressed blob, "sha256:..."
func (l *Layer) DiffID() string    { return l.diffID }    // of the uncompressed tar (the config's diff_id)
func (l *Layer) MediaType() string { return l.mediaType } // of the blob
func (l *Layer) Size() int64       { return l.size }      // of the compressed blob, in bytes

// Close releases the layer; images it was appended to keep it. Idempotent.
func (l *Layer) Close() error {
	if l == nil {
		return nil
	}
	l.h.close()
	return nil
}

// Image is one platform's image: config, manifest and the layers they name.
type Image struct {
	h            handle[*C.rustimg_image]
	seq          uint64 // order of creation: NewIndex locks images in this order
	digest       string
	platform     string
	configJSON   string
	manifestJSON string
	layers       []string
}

// imageSeq numbers images as they are made.
var imageSeq atomic.Uint64

func newImage(p *C.rustimg_image) *Image {
	img := &Image{
		h:            handle[*C.rustimg_image]{p: p, free: func(p *C.rustimg_image) { C.rustimg_image_free(p) }},
		seq:          imageSeq.Add(1),
		digest:       C.GoString(C.rustimg_image_digest(p)),
		platform:     C.GoString(C.rustimg_image_platform(p)),
		configJSON:   C.GoString(C.rustimg_image_config_json(p)),
		manifestJSON: C.GoString(C.rustimg_image_manifest_json(p)),
	}
	n := int(C.rustimg_image_layer_count(p))
	for i := 0; i < n; i++ {
		img.layers = append(img.layers, C.GoString(C.rustimg_image_layer_digest(p, C.size_t(i))))
	}
	runtime.SetFinalizer(img, (*Image).Close)
	return img
}

// imageCall runs a C call that makes an image.
func imageCall(fn func(**C.rustimg_image, **C.rustimg_error) C.int) (*Image, error) {
	var out *C.rustimg_image
	if err := call(func(cerr **C.rustimg_error) C.int { return fn(&out, cerr) }); err != nil {
		return nil, err
	}
	return newImage(out), nil
}

// ImageScratch is an image without layers or config values for platform
// ("linux/amd64"), with OCI media types and created = $SOURCE_DATE_EPOCH
// (else 0).
func ImageScratch(platform string) (*Image, error) {
	var mem cArena
	defer mem.free()
	return imageCall(func(out **C.rustimg_image, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_scratch(out, mem.str(platform), cerr)
	})
}

// ImageBuiltin is a built-in base, "scratch" or "static", exactly as a build
// with the default base options makes it; another name matches
// ErrUnsupported (load or pull an image base instead).
func ImageBuiltin(base, platform string) (*Image, error) {
	var mem cArena
	defer mem.free()
	return imageCall(func(out **C.rustimg_image, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_builtin(out, mem.str(base), mem.str(platform), cerr)
	})
}

// LoadImage reads a local image: "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]"
// or "docker-archive:FILE", every blob checked. From an index it takes the
// manifest for platform; platform "" takes the index's only one (an error
// listing them when it has several).
func LoadImage(location, platform string) (*Image, error) {
	var mem cArena
	defer mem.free()
	return imageCall(func(out **C.rustimg_image, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_load(out, mem.str(location), mem.str(platform), cerr)
	})
}

// PullImage pulls reference's image for platform ("linux/arm64"; every
// digest verified). Platform "" takes a single-platform image whatever its
// platform, and from an index its "linux/amd64" image (as crane without
// --platform; ErrNotFound when it has none). Cancelling ctx stops the
// transfer (the error matches ErrCancelled and ctx.Err()).
func PullImage(ctx context.Context, reference, platform string, opts RegistryOptions) (*Image, error) {
	var mem cArena
	defer mem.free()
	cref, cplatform := mem.str(reference), mem.str(platform)
	var out *C.rustimg_image
	err := withRegistryOptions(ctx, opts, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_pull(&out, cref, cplatform, copts, cerr)
	})
	if err != nil {
		return nil, err
	}
	return newImage(out), nil
}

// derive makes a new image from img with fn.
func (img *Image) derive(fn func(*C.rustimg_image, **C.rustimg_image, **C.rustimg_error) C.int) (*Image, error) {
	if img == nil {
		return nil, nilError("the image")
	}
	var out *C.rustimg_image
	err := img.h.use("image", func(p *C.rustimg_image) error {
		return call(func(cerr **C.rustimg_error) C.int { return fn(p, &out, cerr) })
	})
	if err != nil {
		return nil, err
	}
	return newImage(out), nil
}

// Append returns img with layer on top and a history entry createdBy.
func (img *Image) Append(layer *Layer, createdBy string) (*Image, error) {
	if layer == nil {
		return nil, nilError("Append: the layer")
	}
	var mem cArena
	defer mem.free()
	var out *Image
	err := layer.h.use("layer", func(l *C.rustimg_layer) error {
		var err error
		out, err = img.derive(func(p *C.rustimg_image, out **C.rustimg_image, cerr **C.rustimg_error) C.int {
			return C.rustimg_image_append(out, p, l, mem.str(createdBy), cerr)
		})
		return err
	})
	return out, err
}

// Healthcheck is Docker's healthcheck. Test is ["CMD", program, args...]
// or ["NONE"] (checks off); zero durations and retries keep the engine's
// defaults.
type Healthcheck struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// ConfigChanges changes an image's config; the zero value changes nothing.
// Values mean and are checked as the image spec's keys of the same name
// (README "Spec reference"). An empty Entrypoint, Cmd, User, Workdir or
// StopSignal removes the field; a Healthcheck without Test turns the
// healthcheck off (written as Docker does, Test ["NONE"]); Env, Labels and
// Ports only set or add entries (empty: no change), they remove none.
type ConfigChanges struct {
	Entrypoint []string          // nil: unchanged; empty, non-nil ([]string{}): none
	Cmd        []string          // nil: unchanged; empty, non-nil: none
	Env        map[string]string // each variable set by name
	User       *string           // nil: unchanged; "": none. "uid", "uid:gid", "name", "name:group"
	Workdir    *string           // nil: unchanged; "": none. An absolute path
	Ports      []string          // added: "8080", "8080/tcp", "53/udp"
	Labels     map[string]string // each label set by key
	StopSignal *string           // nil: unchanged; "": none. "SIGTERM", "15"
	// Healthcheck nil: unchanged; a Healthcheck with no Test turns it off
	// (Test ["NONE"]), as does Test []string{"NONE"}.
	Healthcheck *Healthcheck
}

// MarshalJSON writes the changes as the C API takes them: the image spec's
// keys, null to remove entrypoint, cmd, user, workdir or stop-signal and to
// turn the healthcheck off.
func (c ConfigChanges) MarshalJSON() ([]byte, error) {
	doc := map[string]any{}
	orNull := func(key string, empty bool, v any) {
		if empty {
			doc[key] = nil
		} else {
			doc[key] = v
		}
	}
	if c.Entrypoint != nil {
		orNull("entrypoint", len(c.Entrypoint) == 0, c.Entrypoint)
	}
	if c.Cmd != nil {
		orNull("cmd", len(c.Cmd) == 0, c.Cmd)
	}
	if c.User != nil {
		orNull("user", *c.User == "", *c.User)
	}
	if c.Workdir != nil {
		orNull("workdir", *c.Workdir == "", *c.Workdir)
	}
	if c.StopSignal != nil {
		orNull("stop-signal", *c.StopSignal == "", *c.StopSignal)
	}
	if len(c.Env) > 0 {
		doc["env"] = c.Env
	}
	if len(c.Labels) > 0 {
		doc["labels"] = c.Labels
	}
	if len(c.Ports) > 0 {
		doc["ports"] = c.Ports
	}
	if h := c.Healthcheck; h != nil {
		hc := map[string]any{"test": h.Test}
		for key, d := range map[string]time.Duration{"interval": h.Interval, "timeout": h.Timeout, "start-period": h.StartPeriod} {
			if d != 0 {
				hc[key] = d.String() // Go's duration syntax, which the spec reads
			}
		}
		if h.Retries != 0 {
			hc["retries"] = h.Retries
		}
		orNull("healthcheck", len(h.Test) == 0, hc)
	}
	return json.Marshal(doc)
}

// WithConfig returns img with changes applied to its config: the config and
// manifest digests change, layer digests never. A wrong value is an *Error
// with Code CodeSpec whose Details name each one.
func (img *Image) WithConfig(changes ConfigChanges) (*Image, error) {
	doc, err := json.Marshal(changes)
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Message: "config changes are not JSON: " + err.Error()}
	}
	var mem cArena
	defer mem.free()
	return img.derive(func(p *C.rustimg_image, out **C.rustimg_image, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_with_config(out, p, mem.str(string(doc)), cerr)
	})
}

// annotationsJSON is annotations as the C API takes them; nil (NULL) for none.
func annotationsJSON(mem *cArena, annotations map[string]string) *C.char {
	if len(annotations) == 0 {
		return nil
	}
	b, _ := json.Marshal(annotations) // a map of strings always marshals
	return mem.str(string(b))
}

// WithAnnotations returns img with each annotation set in its manifest (an
// error for a Docker-format image: Docker manifests carry none, use labels).
func (img *Image) WithAnnotations(annotations map[string]string) (*Image, error) {
	var mem cArena
	defer mem.free()
	doc := annotationsJSON(&mem, annotations)
	if doc == nil {
		doc = mem.str("{}")
	}
	return img.derive(func(p *C.rustimg_image, out **C.rustimg_image, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_with_annotations(out, p, doc, cerr)
	})
}

// WithCreated returns img with the config's "created" set to t (whole seconds).
func (img *Image) WithCreated(t time.Time) (*Image, error) {
	return img.derive(func(p *C.rustimg_image, out **C.rustimg_image, cerr **C.rustimg_error) C.int {
		return C.rustimg_image_with_created(out, p, C.longlong(t.Unix()), cerr)
	})
}

func (img *Image) Digest() string       { return img.digest }       // of the manifest
func (img *Image) Platform() string     { return img.platform }     // "os/arch[/variant]"
func (img *Image) ConfigJSON() string   { return img.configJSON }   // the config blob's bytes
func (img *Image) ManifestJSON() string { return img.manifestJSON } // the manifest blob's bytes
// LayerDigests lists the digests of the image's layers, bottom first.
func (img *Image) LayerDigests() []string { return append([]string(nil), img.layers...) }

// Write writes img to destination: "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]",
// "docker-archive:FILE[:NAME:TAG]" (atomically), or "docker://HOST/REPO:TAG"
// (pushed, reached with opts; layers from the same registry are mounted).
// An image without layers is an error (append one). Nothing is left behind
// on failure; cancelling ctx stops a push as it stops Push.
func (img *Image) Write(ctx context.Context, destination string, opts RegistryOptions) (*TransferResult, error) {
	if img == nil {
		return nil, nilError("the image")
	}
	var out *C.rustimg_transfer_result
	err := img.h.use("image", func(p *C.rustimg_image) error {
		return writeTo(ctx, destination, opts, func(dest *C.char, copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
			return C.rustimg_image_write(&out, p, dest, copts, cerr)
		})
	})
	if err != nil {
		return nil, err
	}
	return transfer(out)
}

// writeTo runs an image or index write with ctx and opts.
func writeTo(ctx context.Context, destination string, opts RegistryOptions,
	fn func(*C.char, *C.rustimg_registry_options, **C.rustimg_error) C.int) error {
	var mem cArena
	defer mem.free()
	dest := mem.str(destination)
	return withRegistryOptions(ctx, opts, func(copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
		return fn(dest, copts, cerr)
	})
}

// Close releases the image; images and indexes made from it are unaffected.
// Idempotent.
func (img *Image) Close() error {
	if img == nil {
		return nil
	}
	img.h.close()
	return nil
}

// Index is several platforms' images as one index.
type Index struct {
	h      handle[*C.rustimg_index]
	digest string
	json   string
}

// NewIndex makes an index over images, in this order (each for another
// platform, all of one format), with annotations (nil for none).
func NewIndex(images []*Image, annotations map[string]string) (*Index, error) {
	// Hold every image while C reads it, so none is closed mid-call. Each
	// is locked once (a second read lock of one mutex can deadlock with a
	// Close waiting between the two), and all in one global order, their
	// order of creation: two NewIndex calls given the same images in
	// another order, each waiting on an image the other holds while a Close
	// waits on it, would otherwise deadlock.
	unique := make([]*Image, 0, len(images))
	seen := make(map[*Image]bool, len(images))
	for i, img := range images {
		if img == nil {
			return nil, nilError(fmt.Sprintf("NewIndex: images[%d]", i))
		}
		if !seen[img] {
			seen[img] = true
			unique = append(unique, img)
		}
	}
	sort.Slice(unique, func(i, j int) bool { return unique[i].seq < unique[j].seq })
	for _, img := range unique {
		img.h.mu.RLock()
		defer img.h.mu.RUnlock()
		if img.h.closed() {
			return nil, closedError("image")
		}
	}
	var mem cArena
	defer mem.free()
	var arr **C.rustimg_image
	if n := len(images); n > 0 {
		// C memory: a C array of pointers must not be Go memory holding them.
		arr = (**C.rustimg_image)(mem.alloc(uintptr(n) * unsafe.Sizeof((*C.rustimg_image)(nil))))
		slots := unsafe.Slice(arr, n)
		for i, img := range images {
			slots[i] = img.h.p
		}
	}
	var out *C.rustimg_index
	err := call(func(cerr **C.rustimg_error) C.int {
		return C.rustimg_index_new(&out, arr, C.size_t(len(images)), annotationsJSON(&mem, annotations), cerr)
	})
	if err != nil {
		return nil, err
	}
	idx := &Index{
		h:      handle[*C.rustimg_index]{p: out, free: func(p *C.rustimg_index) { C.rustimg_index_free(p) }},
		digest: C.GoString(C.rustimg_index_digest(out)),
		json:   C.GoString(C.rustimg_index_json(out)),
	}
	runtime.SetFinalizer(idx, (*Index).Close)
	return idx, nil
}

func (idx *Index) Digest() string { return idx.digest } // of the index document
func (idx *Index) JSON() string   { return idx.json }   // the index document's bytes

// Write writes the index and every image to destination, as Image.Write
// (not docker-archive, which holds one platform).
func (idx *Index) Write(ctx context.Context, destination string, opts RegistryOptions) (*TransferResult, error) {
	if idx == nil {
		return nil, nilError("the index")
	}
	var out *C.rustimg_transfer_result
	err := idx.h.use("index", func(p *C.rustimg_index) error {
		return writeTo(ctx, destination, opts, func(dest *C.char, copts *C.rustimg_registry_options, cerr **C.rustimg_error) C.int {
			return C.rustimg_index_write(&out, p, dest, copts, cerr)
		})
	})
	if err != nil {
		return nil, err
	}
	return transfer(out)
}

// Close releases the index; idempotent.
func (idx *Index) Close() error {
	if idx == nil {
		return nil
	}
	idx.h.close()
	return nil
}
