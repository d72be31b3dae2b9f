module github.com/secretexec/secretexec

go 1.23

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	github.com/rogpeppe/go-internal v1.14.1 // indirect
)
