package fallback

import (
	"time"

	"github.com/secretexec/secretexec/fetch"
)

// The golden copy, testdata/v1.copy, was written once by Write with these
// arguments. It must read as long as the format is version 1: never
// rewrite it.
var (
	goldenKey       = "canary-apikey-golden"
	goldenEndpoints = []string{"https://api.fusebase.example/v1/apps/canary-app/secrets", "https://second.example/secrets"}
	goldenFetched   = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	goldenSecrets   = []fetch.Secret{
		{Key: "DATABASE_URL", Value: "canary-golden-db", Description: "the database", Source: "fusebase"},
		{Key: "EMPTY", Source: "fusebase"},
		{Key: "BINARY", Value: "canary-\xff\x00bin", Source: "dir:/run/secrets"},
	}
)
