package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReadVariables(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want func(*settings) bool
		err  string
	}{
		{"none", nil, nil, func(s *settings) bool {
			return reflect.DeepEqual(s.From.v, []string{"fusebase"}) && s.From.from == byDefault && s.Timeout.v == 30*time.Second &&
				s.Retries.v == 8 && s.Override.v && s.URL.v == "" && s.APIKey.v == ""
		}, ""},
		{"strings", nil, map[string]string{"SECRETEXEC_URL": "https://x/s", "SECRETEXEC_APP": "web", "FUSEBASE_ENV": "dev"},
			func(s *settings) bool {
				return s.URL.v == "https://x/s" && s.App.v == "web" && s.Env.v == "dev" && s.Manifest.v == "" && s.APIKey.v == ""
			}, ""},
		{"lists are trimmed", nil, map[string]string{"SECRETEXEC_FROM": "fusebase, file:a", "SECRETEXEC_REQUIRE": "  "},
			func(s *settings) bool {
				return reflect.DeepEqual(s.From.v, []string{"fusebase", "file:a"}) && s.From.from == byVariable && len(s.Require.v) == 0
			}, ""},
		{"typed", nil, map[string]string{"SECRETEXEC_TIMEOUT": "1m30s", "SECRETEXEC_RETRIES": "0x10", "SECRETEXEC_OVERRIDE": "false", "SECRETEXEC_QUIET": "1"},
			func(s *settings) bool {
				return s.Timeout.v == 90*time.Second && s.Retries.v == 16 && !s.Override.v && s.Quiet.v && !s.Init.v
			}, ""},
		{"empty is unset", nil, map[string]string{"SECRETEXEC_TIMEOUT": "", "FUSEBASE_API_KEY": ""},
			func(s *settings) bool { return s.Timeout.v == 30*time.Second && s.APIKey.v == "" }, ""},
		{"bare names are the app's", nil, map[string]string{"TIMEOUT": "banana", "URL": "https://elsewhere", "INIT": "maybe"},
			func(s *settings) bool {
				return s.Timeout.v == 30*time.Second && s.URL.v == "" && !s.Init.v
			}, ""},
		{"a flag beats its variable, which is not read", []string{"--timeout", "5s", "--no-override"},
			map[string]string{"SECRETEXEC_TIMEOUT": "banana", "SECRETEXEC_OVERRIDE": "maybe"},
			func(s *settings) bool { return s.Timeout.v == 5*time.Second && !s.Override.v }, ""},
		{"bad duration", nil, map[string]string{"SECRETEXEC_TIMEOUT": "banana"}, nil,
			`SECRETEXEC_TIMEOUT: "banana" is not a valid duration (such as 30s or 2m)`},
		{"bad number", nil, map[string]string{"SECRETEXEC_RETRIES": "2.5"}, nil, `SECRETEXEC_RETRIES: "2.5" is not a valid number`},
		{"bad boolean", nil, map[string]string{"SECRETEXEC_INIT": "maybe"}, nil, `SECRETEXEC_INIT: "maybe" is not a valid boolean (true or false)`},
		{"a credential split off a URL is not quoted", nil, map[string]string{"SECRETEXEC_FROM": "https://h/x?a=1,token=canary-t"}, nil,
			`SECRETEXEC_FROM: entry 2: want fusebase, an https:// URL, file:PATH or dir:PATH`},
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
			s, err := parseSettings("run", append(tt.args, "--", "cmd"))
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
			if len(s.warnings) > 0 {
				t.Errorf("warnings: %q", s.warnings)
			}
			if !tt.want(s) {
				t.Errorf("got %+v", s)
			}
		})
	}
}

// TestUsage checks that --help lists every flag and variable of the table.
func TestUsage(t *testing.T) {
	help := usage()
	typ := reflect.TypeFor[settings]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("flag"), ","); name != "" && !strings.Contains(help, "--"+name) {
			t.Errorf("--help lacks --%s", name)
		}
		if v := f.Tag.Get("envconfig"); v != "" && !strings.Contains(help, v) {
			t.Errorf("--help lacks %s", v)
		}
	}
}

// TestLintFlagsAfterDir checks that lint takes flags after its DIR.
func TestLintFlagsAfterDir(t *testing.T) {
	s, err := parseSettings("lint", []string{"apps/web", "--format", "json", "--strict"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Command, []string{"apps/web"}) || s.Format.v != "json" || !s.Strict.v {
		t.Errorf("got DIR %q, format %q, strict %v", s.Command, s.Format.v, s.Strict.v)
	}
}
