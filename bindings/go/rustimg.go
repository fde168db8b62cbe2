// Package rustimg builds minimal, reproducible OCI images from Rust crates,
// in-process, through the rustimg C library, found with pkg-config: rustimg
// (librustimg.so), or rustimg-static (librustimg.a) with -tags rustimg_static.
package rustimg

/*
#include <stdlib.h>
#include <rustimg.h>
*/
import "C"

import (
	"encoding/json"
	"runtime"
)

// Version is the version of the rustimg library in use.
func Version() string { return C.GoString(C.rustimg_version()) }

// LinkedLibrary is a C library statically linked into a binary.
type LinkedLibrary struct {
	Name    string  `json:"name"`
	Version *string `json:"version"`
}

// NSSLookup is an NSS lookup through a service that needs a module
// (libnss_SERVICE.so.2) a statically linked glibc binary cannot load there.
type NSSLookup struct {
	Database string `json:"database"` // "hosts", "passwd", ...
	Service  string `json:"service"`  // "mdns4_minimal", "sss"; "files"/"dns" before glibc 2.34
	Module   string `json:"module"`   // "libnss_mdns4_minimal.so.2"
	// EveryLookup: no built-in service is reached for the database, so
	// every such lookup fails (else only answers this service alone gives).
	EveryLookup bool `json:"every_lookup"`
}

// Report is what rustimg found in one ELF binary; see `rustimg verify --json`.
type Report struct {
	Architecture string   `json:"architecture"`
	Variant      string   `json:"variant"`
	OS           string   `json:"os"`
	Type         string   `json:"type"`
	Linkage      string   `json:"linkage"` // "static", "static-pie" or "dynamic"
	Interpreter  *string  `json:"interpreter"`
	Needed       []string `json:"needed"`
	RPath        []string `json:"rpath"`
	RunPath      []string `json:"runpath"`
	Stripped     bool     `json:"stripped"`
	DebugInfo    bool     `json:"debug_info"`
	BuildID      *string  `json:"build_id"`
	Libc         string   `json:"libc"`
	NSSRisk      bool     `json:"nss_risk"`
	NSSEvidence  []string `json:"nss_evidence"`
	// GlibcVersion is glibc's version ("2.36"), a lower bound (">=2.35"),
	// or nil when the binary does not tell (or is not glibc).
	GlibcVersion *string `json:"glibc_version"`
	// NSSFailing lists the NSS lookups of a static glibc binary that need a
	// module it cannot load in the image (empty when NSSRisk is false).
	NSSFailing []NSSLookup `json:"nss_failing"`
	// NSSCheckedAgainst names the nsswitch.conf the verdict was judged
	// against (glibc's defaults for Verify); nil when nothing was judged.
	NSSCheckedAgainst *string  `json:"nss_checked_against"`
	FitForScratch     bool     `json:"fit_for_scratch"`
	Problems          []string `json:"problems"`
	// ProblemKinds gives the kind of each entry of Problems: "dynamic",
	// "not-executable", "unknown-architecture", "not-linux" or
	// "platform-mismatch" (only "dynamic" is waived by AllowDynamic).
	ProblemKinds []string `json:"problem_kinds"`
	// PlatformMatch is set when Verify was given a platform: whether the
	// binary is for it (a mismatch is also one of Problems).
	PlatformMatch *bool    `json:"platform_match,omitempty"`
	Warnings      []string `json:"warnings"`
	ELFClass      int      `json:"elf_class"`
	Endianness    string   `json:"endianness"`
	Machine       string   `json:"machine"`

	// LinkedLibraries lists the C libraries recognised in the binary
	// (OpenSSL, zlib, SQLite, ...); Version is nil when it cannot be read.
	LinkedLibraries []LinkedLibrary `json:"linked_libraries"`
}

// Verify inspects the ELF binary at path. A non-empty platform
// ("linux/arm64") makes a binary for another platform unfit. An unfit binary
// is not an error: check Report.FitForScratch and Report.Problems.
func Verify(path string, platform string) (*Report, error) {
	var mem cArena
	defer mem.free()
	cpath := mem.str(path)
	cplatform := mem.str(platform)
	var report *C.rustimg_elf_report
	var cerr *C.rustimg_error
	if rc := C.rustimg_verify_file(&report, cpath, cplatform, &cerr); rc < 0 {
		return nil, takeError(rc, cerr)
	}
	defer C.rustimg_elf_report_free(report)
	var out Report
	if err := json.Unmarshal([]byte(C.GoString(C.rustimg_elf_report_json(report))), &out); err != nil {
		return nil, &Error{Code: CodeGeneric, Message: "decoding the report: " + err.Error()}
	}
	return &out, nil
}

// SpecOptions says where a spec comes from. Overrides win over the spec
// file, which wins over Cargo.toml metadata.
type SpecOptions struct {
	CrateDir          string         // the crate; "" for none
	SpecFile          string         // "" : CrateDir/rustimg.json when it exists
	Overrides         map[string]any // same schema as the spec file
	SkipCargoMetadata bool           // do not run `cargo metadata`
	Cargo             string         // "" : cargo from PATH
}

// LoadSpec resolves the image spec and returns it as JSON (every key
// present). Invalid specs give an *Error with Code CodeSpec whose Details
// list every problem.
func LoadSpec(opts SpecOptions) (json.RawMessage, error) {
	var copts C.rustimg_spec_load_options
	if rc := C.rustimg_spec_load_options_init(&copts, C.RUSTIMG_SPEC_LOAD_OPTIONS_VERSION); rc < 0 {
		return nil, &Error{Code: Code(rc), Message: "unsupported options version"}
	}
	var mem cArena
	defer mem.free()
	copts.crate_dir = mem.str(opts.CrateDir)
	copts.spec_file = mem.str(opts.SpecFile)
	copts.cargo = mem.str(opts.Cargo)
	if opts.SkipCargoMetadata {
		copts.use_cargo_metadata = 0
	}
	overrides, err := mem.jsonStr(opts.Overrides)
	if err != nil {
		return nil, err
	}
	copts.overrides_json = overrides
	var spec *C.rustimg_spec
	var cerr *C.rustimg_error
	rc := C.rustimg_spec_load(&spec, &copts, &cerr)
	runtime.KeepAlive(opts)
	if rc < 0 {
		return nil, takeError(rc, cerr)
	}
	defer C.rustimg_spec_free(spec)
	return json.RawMessage(C.GoString(C.rustimg_spec_json(spec))), nil
}
