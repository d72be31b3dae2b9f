// Package fallback keeps an encrypted copy of the last good fetch, so that a
// run can start from it while the secrets store is unavailable.
//
// The copy is bound to the API key and to the endpoints it was fetched
// from: only the same key and the same endpoints, in the same order, can
// read it. It holds the fetch time, which is authenticated, and Read refuses
// a copy older than the caller's limit. The file never holds a secret value,
// the API key or an endpoint in the clear.
//
// # File format, version 1
//
// All integers are big-endian.
//
//	offset  size  field
//	0       8     magic "SXFBCOPY"
//	8       1     version, 1
//	9       32    salt, random for each write
//	41      8     fetch time, int64 nanoseconds since the Unix epoch
//	49      12    nonce, random for each write
//	61      n     AES-256-GCM ciphertext of the payload
//	61+n    16    GCM tag
//
// The AES key is HKDF-SHA256 (RFC 5869) of the API key, with the salt and
// the info string "secretexec fallback v1", 32 bytes long. The additional
// authenticated data is the header (bytes 0 to 48) followed by the number of
// endpoints as a uint32 and each endpoint as a uint32 length and its bytes,
// so the magic, version, salt, fetch time and every endpoint are
// authenticated, and another API key or another endpoint list fails to
// decrypt.
//
// The payload is JSON: {"secrets":[{"key":…,"value":…,"description":…,
// "source":…}]}, each field a base64 string (JSON's form for bytes), so a
// value that is not valid UTF-8 comes back unchanged. A file is at most
// MaxSize bytes.
//
// # Replacing the file
//
// Write creates a temporary file in the same folder (mode 0600), writes and
// syncs it, renames it over the copy and syncs the folder. A reader sees the
// old copy or the new one, never a mix, however many processes write at
// once; the last rename wins. If the writer is killed between creating and
// renaming the temporary file, a file named .NAME.*.tmp is left behind.
package fallback

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/secretexec/secretexec/fetch"
	"github.com/secretexec/secretexec/internal/oserr"
)

// MaxSize is the largest copy Write writes and Read reads, 32 MiB.
const MaxSize = 32 << 20

// FutureSkew is how far in the future a copy's fetch time may lie and still
// be read, as age 0. Hosts sharing a volume disagree on the time a little,
// and a clock may step back; a copy dated further ahead has no age that can
// be trusted and is refused as invalid.
const FutureSkew = 5 * time.Minute

const (
	magic      = "SXFBCOPY"
	version    = 1
	saltSize   = 32
	headerSize = len(magic) + 1 + saltSize + 8
	nonceSize  = 12
	tagSize    = 16
	info       = "secretexec fallback v1"
)

// A Copy is the content of a fallback file.
type Copy struct {
	// Secrets are the secrets as written, in the same order, Source included.
	Secrets []fetch.Secret
	// Fetched is when the secrets were fetched, as given to Write.
	Fetched time.Time
	// Age is how long before Read's now they were fetched; 0 if the fetch
	// time lies up to FutureSkew in the future.
	Age time.Duration
}

// StaleError reports a copy older than the maximum age. It is not used.
type StaleError struct {
	Path   string
	Age    time.Duration
	MaxAge time.Duration
}

func (e *StaleError) Error() string {
	limit := FormatAge(e.MaxAge)
	if d, err := time.ParseDuration(limit); err != nil || d != e.MaxAge {
		limit = e.MaxAge.String() // the limit as set, such as 1m30s or 500ms
	}
	// Rounding must not make the age read as within the limit.
	age := FormatAge(e.Age)
	if d, err := time.ParseDuration(age); err != nil || d <= e.MaxAge {
		age = e.Age.Round(time.Second).String()
		if d, err := time.ParseDuration(age); err != nil || d <= e.MaxAge {
			age = e.Age.String()
		}
	}
	return fmt.Sprintf("fallback: %s: the copy is %s old, older than the %s limit", e.Path, age, limit)
}

// InvalidError reports a copy that cannot be used: written with another API
// key or for other endpoints, damaged, truncated, of another format or
// version, or dated in the future. Its message quotes nothing from the file.
type InvalidError struct {
	Path string
	// Reason is one of a few fixed phrases, such as "cannot be decrypted
	// (another API key or endpoint, or a damaged file)".
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("fallback: %s: unusable copy: %s", e.Path, e.Reason)
}

// The reasons an InvalidError gives.
const (
	reasonFormat  = "not a secretexec fallback file"
	reasonVersion = "unsupported format version"
	reasonSize    = "larger than the 32 MiB limit"
	reasonOpen    = "cannot be decrypted (another API key or endpoint, or a damaged file)"
	reasonPayload = "malformed content"
	reasonFuture  = "its fetch time is in the future"
)

// record is a secret as the payload holds it; []byte fields are base64 in
// JSON and keep bytes that are not UTF-8.
type record struct {
	Key         []byte `json:"key"`
	Value       []byte `json:"value"`
	Description []byte `json:"description,omitempty"`
	Source      []byte `json:"source,omitempty"`
}

type payload struct {
	Secrets []record `json:"secrets"`
}

// Write replaces the file at path with an encrypted copy of secrets, bound
// to apiKey and to endpoints (compared exactly and in order, since a later
// source wins per key), dated fetched. An error leaves no temporary file
// and, unless only the final sync of the folder failed, the file at path as
// it was. The caller reports it as a warning: the run goes on.
func Write(path, apiKey string, endpoints []string, secrets []fetch.Secret, fetched time.Time) error {
	if apiKey == "" {
		return fmt.Errorf("fallback: %s: no API key", path)
	}
	if fetched.IsZero() || fetched.Before(time.Unix(0, math.MinInt64)) || fetched.After(time.Unix(0, math.MaxInt64)) {
		return fmt.Errorf("fallback: %s: fetch time out of range", path)
	}
	p := payload{Secrets: make([]record, len(secrets))}
	for i, s := range secrets {
		p.Secrets[i] = record{[]byte(s.Key), []byte(s.Value), []byte(s.Description), []byte(s.Source)}
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("fallback: %s: %w", path, err)
	}
	if headerSize+nonceSize+len(plain)+tagSize > MaxSize {
		return fmt.Errorf("fallback: %s: the copy would be larger than the %d MiB limit", path, MaxSize>>20)
	}

	header := make([]byte, headerSize, headerSize+nonceSize+len(plain)+tagSize)
	copy(header, magic)
	header[len(magic)] = version
	salt := header[len(magic)+1 : len(magic)+1+saltSize]
	rand.Read(salt)
	binary.BigEndian.PutUint64(header[headerSize-8:], uint64(fetched.UnixNano()))
	aead, err := newAEAD(apiKey, salt)
	if err != nil {
		return fmt.Errorf("fallback: %s: %w", path, err)
	}
	file := aead.Seal(header, nil, plain, additional(header, endpoints))
	clear(plain)

	if err := replace(path, file); err != nil {
		return fmt.Errorf("fallback: %s: %w", path, err)
	}
	return nil
}

// replace writes b to path through a temporary file in the same folder.
func replace(path string, b []byte) (err error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %w", dir, oserr.Cause(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		return oserr.Cause(err)
	}
	if err := f.Sync(); err != nil {
		return oserr.Cause(err)
	}
	if err := f.Close(); err != nil {
		return oserr.Cause(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		// os.Rename words a folder at path as "file exists".
		if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
			return errors.New("is a directory")
		}
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err // the path is named already; the temporary name is noise
		}
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return oserr.Cause(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the folder: %w", oserr.Cause(err))
	}
	return nil
}

// Read reads the copy at path, written with the same apiKey and endpoints,
// as of now. The copy is used only if it is authentic and its age is at
// most maxAge, which must be positive.
//
// A missing file is an error that unwraps to fs.ErrNotExist; a copy older
// than maxAge a *StaleError; a copy that cannot be used a *InvalidError.
// Any other error (a folder at path, a permission denied) means the file
// could not be read.
func Read(path, apiKey string, endpoints []string, maxAge time.Duration, now time.Time) (*Copy, error) {
	if apiKey == "" {
		return nil, fmt.Errorf("fallback: %s: no API key", path)
	}
	if maxAge <= 0 {
		return nil, fmt.Errorf("fallback: %s: the maximum age must be positive", path)
	}
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return decode(path, b, apiKey, endpoints, maxAge, now)
}

// decode is Read once the file's bytes are in: it names path in errors.
func decode(path string, b []byte, apiKey string, endpoints []string, maxAge time.Duration, now time.Time) (*Copy, error) {
	if len(b) > MaxSize {
		return nil, &InvalidError{Path: path, Reason: reasonSize}
	}
	c, reason := open(b, apiKey, endpoints, now)
	if reason != "" {
		return nil, &InvalidError{Path: path, Reason: reason}
	}
	if c.Age > maxAge {
		return nil, &StaleError{Path: path, Age: c.Age, MaxAge: maxAge}
	}
	return c, nil
}

// readFile reads a regular file of at most MaxSize bytes.
func readFile(path string) ([]byte, error) {
	// Stat first so that a FIFO placed at path cannot block the open.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("fallback: %s: %w", path, oserr.Cause(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("fallback: %s: not a regular file", path)
	}
	if fi.Size() > MaxSize {
		return nil, &InvalidError{Path: path, Reason: reasonSize}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fallback: %s: %w", path, oserr.Cause(err))
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.Grow(int(fi.Size()) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxSize+1)); err != nil {
		return nil, fmt.Errorf("fallback: %s: %w", path, oserr.Cause(err))
	}
	if buf.Len() > MaxSize {
		return nil, &InvalidError{Path: path, Reason: reasonSize}
	}
	return buf.Bytes(), nil
}

// open decrypts and decodes a file's bytes, or returns why it cannot.
func open(b []byte, apiKey string, endpoints []string, now time.Time) (*Copy, string) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, reasonFormat
	}
	if len(b) < len(magic)+1 || b[len(magic)] != version {
		return nil, reasonVersion
	}
	if len(b) < headerSize+nonceSize+tagSize {
		return nil, reasonOpen
	}
	header := b[:headerSize]
	aead, err := newAEAD(apiKey, header[len(magic)+1:len(magic)+1+saltSize])
	if err != nil {
		return nil, reasonOpen
	}
	plain, err := aead.Open(nil, nil, b[headerSize:], additional(header, endpoints))
	if err != nil {
		return nil, reasonOpen
	}
	defer clear(plain)

	// The bytes are authentic from here on: only a holder of the API key
	// could have written them.
	fetched := time.Unix(0, int64(binary.BigEndian.Uint64(header[headerSize-8:])))
	age := now.Sub(fetched)
	if age < 0 {
		if -age > FutureSkew {
			return nil, reasonFuture
		}
		age = 0
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() || p.Secrets == nil {
		return nil, reasonPayload
	}
	secrets := make([]fetch.Secret, len(p.Secrets))
	for i, r := range p.Secrets {
		secrets[i] = fetch.Secret{Key: string(r.Key), Value: string(r.Value), Description: string(r.Description), Source: string(r.Source)}
	}
	return &Copy{Secrets: secrets, Fetched: fetched, Age: age}, ""
}

// newAEAD returns AES-256-GCM, with random nonces prepended to the
// ciphertext, under the key derived from apiKey and salt.
func newAEAD(apiKey string, salt []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(apiKey), salt, info, 32)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// additional returns the authenticated data: the header, then each
// endpoint length-prefixed, so that no two endpoint lists encode alike.
func additional(header []byte, endpoints []string) []byte {
	n := len(header) + 4
	for _, e := range endpoints {
		n += 4 + len(e)
	}
	ad := make([]byte, 0, n)
	ad = append(ad, header...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(endpoints)))
	for _, e := range endpoints {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(e)))
		ad = append(ad, e...)
	}
	return ad
}

// Remove deletes the copy at path. A missing file is not an error; a
// folder is, empty or not: it is no copy.
func Remove(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("fallback: %s: is a directory", path)
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("fallback: %s: %w", path, oserr.Cause(err))
	}
	dir := filepath.Dir(path)
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fallback: %s: %w", path, err)
	}
	return nil
}

// FormatAge words an age for messages: to the second under a minute, else
// to the minute, without zero units, as in "42s", "3h7m", "24h".
func FormatAge(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
