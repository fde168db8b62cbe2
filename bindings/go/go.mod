module github.com/rustimg/rustimg/bindings/go

go 1.21
