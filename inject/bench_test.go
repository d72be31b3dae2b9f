package inject

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// benchEnviron is an inherited environment the size of a container's.
var benchEnviron = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=f3a1c2d4e5b6",
	"HOME=/root", "LANG=C.UTF-8", "NODE_VERSION=22.11.0", "YARN_VERSION=1.22.22", "PORT=8080",
	"NODE_ENV=production", "SECRETEXEC_LOG_LEVEL=info", "FUSEBASE_API_KEY=fbk_not_a_real_key",
	"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "TERM=xterm",
	"SECRET_00003=inherited", "TZ=UTC", "PWD=/app", "SHLVL=1", "_=/usr/local/bin/secretexec",
}

func BenchmarkEnviron(b *testing.B) {
	strip := func(name string) bool { return strings.HasPrefix(name, "SECRETEXEC_") || name == "FUSEBASE_API_KEY" }
	for _, n := range []int{10, 1000, 10000} {
		secrets := make([]Secret, n)
		for i := range secrets {
			// In reverse order, so the sort has work to do.
			secrets[n-1-i] = Secret{Key: fmt.Sprintf("SECRET_%05d", i), Value: fmt.Sprintf("v%08x-%030x", i, i*7919)}
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r, err := Environ(benchEnviron, secrets, Options{Strip: strip})
				if err != nil || len(r.Env) != len(benchEnviron)-2+n-1 {
					b.Fatalf("Environ: %d variables, %v", len(r.Env), err)
				}
			}
		})
	}
}
