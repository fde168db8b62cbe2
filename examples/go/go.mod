module github.com/rustimg/rustimg/examples/go

go 1.21

require github.com/rustimg/rustimg/bindings/go v0.0.0

replace github.com/rustimg/rustimg/bindings/go => ../../bindings/go
