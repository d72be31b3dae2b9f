package main

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestReadVariables(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want func(*envSettings, *fusebaseSettings) bool
		err  string
	}{
		{"none", nil, func(e *envSettings, f *fusebaseSettings) bool {
			return reflect.DeepEqual(*e, envSettings{}) && reflect.DeepEqual(*f, fusebaseSettings{})
		}, ""},
		{"strings", map[string]string{"SECRETEXEC_URL": "https://x/s", "SECRETEXEC_APP": "web", "FUSEBASE_ENV": "dev"},
			func(e *envSettings, f *fusebaseSettings) bool {
				return *e.URL == "https://x/s" && *e.App == "web" && *f.Env == "dev" && e.Manifest == nil && f.APIKey == nil
			}, ""},
		{"lists keep blanks for the caller to trim", map[string]string{"SECRETEXEC_FROM": "fusebase, file:a", "SECRETEXEC_REQUIRE": "  "},
			func(e *envSettings, _ *fusebaseSettings) bool {
				return reflect.DeepEqual(e.From, []string{"fusebase", " file:a"}) && e.Require != nil && len(e.Require) == 0
			}, ""},
		{"typed", map[string]string{"SECRETEXEC_TIMEOUT": "1m30s", "SECRETEXEC_RETRIES": "0x10", "SECRETEXEC_OVERRIDE": "false", "SECRETEXEC_QUIET": "1"},
			func(e *envSettings, _ *fusebaseSettings) bool {
				return *e.Timeout == 90*time.Second && *e.Retries == 16 && !*e.Override && *e.Quiet && e.Init == nil
			}, ""},
		{"empty is unset", map[string]string{"SECRETEXEC_TIMEOUT": "", "FUSEBASE_API_KEY": ""},
			func(e *envSettings, f *fusebaseSettings) bool { return e.Timeout == nil && f.APIKey == nil }, ""},
		{"bare names are the app's", map[string]string{"TIMEOUT": "banana", "URL": "https://elsewhere", "INIT": "maybe"},
			func(e *envSettings, _ *fusebaseSettings) bool {
				return e.Timeout == nil && e.URL == nil && e.Init == nil
			}, ""},
		{"bad duration", map[string]string{"SECRETEXEC_TIMEOUT": "banana"}, nil,
			`SECRETEXEC_TIMEOUT: "banana" is not a valid duration (such as 30s or 2m)`},
		{"bad number", map[string]string{"SECRETEXEC_RETRIES": "2.5"}, nil, `SECRETEXEC_RETRIES: "2.5" is not a valid number`},
		{"bad boolean", map[string]string{"SECRETEXEC_INIT": "maybe"}, nil, `SECRETEXEC_INIT: "maybe" is not a valid boolean (true or false)`},
	}
	all := []string{"SECRETEXEC_FROM", "SECRETEXEC_URL", "SECRETEXEC_APP", "SECRETEXEC_MANIFEST", "SECRETEXEC_REQUIRE",
		"SECRETEXEC_TIMEOUT", "SECRETEXEC_RETRIES", "SECRETEXEC_OVERRIDE", "SECRETEXEC_INIT", "SECRETEXEC_LOG_LEVEL",
		"SECRETEXEC_LOG_FORMAT", "SECRETEXEC_QUIET", "FUSEBASE_API_KEY", "FUSEBASE_API_URL", "FUSEBASE_ENV",
		"TIMEOUT", "URL", "INIT"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range all {
				t.Setenv(name, "")
			}
			for name, value := range tt.vars {
				t.Setenv(name, value)
			}
			env, fb, err := readVariables(func(w string) { t.Errorf("warning: %s", w) })
			if tt.err != "" {
				var ce *configError
				if err == nil || err.Error() != tt.err || !errors.As(err, &ce) {
					t.Fatalf("error = %v; want configuration error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(env, fb) {
				t.Errorf("got %+v, %+v", env, fb)
			}
		})
	}
}
