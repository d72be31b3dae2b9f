module github.com/secretexec/secretexec

go 1.23

require (
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/kelseyhightower/envconfig v1.4.0
)

// Test dependencies.
require github.com/rogpeppe/go-internal v1.14.1

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	golang.org/x/sys v0.26.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
)
