module example.com/go_compose_recipe

go 1.21

require github.com/rustimg/rustimg/bindings/go v0.0.0

// The binding's module path cannot be fetched: take it from this checkout.
replace github.com/rustimg/rustimg/bindings/go => ../../../bindings/go
