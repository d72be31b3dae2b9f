package fusebase

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/secretexec/secretexec/internal/oserr"
)

// A Config is the user's ~/.fusebase/config.json, which `fusebase auth`
// writes. It holds the user's own credential.
type Config struct {
	// File is the path that was read, or would have been.
	File   string
	APIKey string
	Env    string
}

type configJSON struct {
	APIKey string `json:"apiKey"`
	Env    string `json:"env"`
}

// ConfigPath returns the path of config.json under the home directory.
func ConfigPath(home string) string {
	return filepath.Join(home, ".fusebase", "config.json")
}

// LoadConfig reads config.json under the home directory. A missing file is
// an empty Config, not an error: a container has none. Errors never quote
// the file, which holds the API key.
func LoadConfig(home string) (*Config, error) {
	c := &Config{File: ConfigPath(home)}
	if home == "" {
		return c, nil
	}
	b, err := os.ReadFile(c.File)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.File, oserr.Cause(err))
	}
	var raw configJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s", c.File, jsonProblem(err))
	}
	c.APIKey, c.Env = raw.APIKey, raw.Env
	return c, nil
}
