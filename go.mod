module github.com/secretexec/secretexec

go 1.23

require github.com/kelseyhightower/envconfig v1.4.0

// Test dependencies.
require github.com/rogpeppe/go-internal v1.14.1

require (
	golang.org/x/sys v0.26.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
)
