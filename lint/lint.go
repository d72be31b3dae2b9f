// Package lint checks an app tree against the Fusebase secrets checklist:
// no .env file and no dotenv in backend code, no secret in browser code, and
// a manifest that agrees with what the backend reads.
//
// Each app's backend/ folder is server code; everything else in the app is
// browser code. The tree is walked once, each source file is read once and
// scanned by a small lexer that tells code from strings from comments, so a
// large tree takes a fraction of a second. Lint reads key names only; it
// never sees a secret value.
package lint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/secretexec/secretexec/internal/oserr"
)

// Severity says whether a finding fails the check.
type Severity string

const (
	Error   Severity = "error"   // fails the check
	Warning Severity = "warning" // fails it only when the caller is strict
)

// A Finding is one problem at one place. Its fields hold the text as found,
// which may come from a hostile tree (file names) or store (key names);
// String and MarshalJSON make it safe to print.
type Finding struct {
	// Path is slash-separated and relative to the linted root.
	Path     string   `json:"path"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// String formats f as "path:line:col: severity: message", the form editors
// and CI systems annotate, with path and message escaped as escape says: one
// finding is always one line, so that a file named ".env.\n::warning ::x"
// cannot forge a line of its own, such as a GitHub Actions command.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", escape(f.Path), f.Line, f.Col, f.Severity, escape(f.Message))
}

// MarshalJSON encodes f as an object of its fields. encoding/json escapes
// the C0 controls and U+2028 and U+2029 but writes DEL, the C1 controls and
// format characters as they are; MarshalJSON writes those that escape
// escapes as \u escapes too, so the report is as safe to print as the text
// and still decodes to the exact text (a byte that is not UTF-8 becomes
// U+FFFD, as always in encoding/json).
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	b, err := json.Marshal(plain(f))
	if err != nil {
		return nil, err
	}
	// Outside strings the encoding is ASCII, so every character that
	// needs escaping stands in a string.
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if printable(r, n) {
			if out != nil {
				out = append(out, b[i:i+n]...)
			}
			i += n
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(b)+12), b[:i]...)
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
	}
	if out == nil {
		return b, nil
	}
	return out, nil
}

// escape returns s, a path or message to print on one line, with each
// character that could break the line or steer a terminal written as a Go
// escape, as strconv.Quote writes it: the C0 and C1 controls and DEL
// (\n, \r, \t, \x1b, \x7f, \u009b), the line and paragraph separators
// (\u2028, \u2029), format characters such as the bidirectional overrides
// (\u202e), anything else strconv.IsGraphic refuses, and each byte that is
// not UTF-8 (\xff). All else is left as it is, backslashes included, so
// that ordinary paths read as they are; the JSON format gives the exact
// text.
func escape(s string) string {
	var out []byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if printable(r, n) {
			if out != nil {
				out = append(out, s[i:i+n]...)
			}
			i += n
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(s)+12), s[:i]...)
		}
		if r == utf8.RuneError && n == 1 {
			out = fmt.Appendf(out, `\x%02x`, s[i])
		} else {
			q := strconv.QuoteRuneToASCII(r)
			out = append(out, q[1:len(q)-1]...)
		}
		i += n
	}
	if out == nil {
		return s
	}
	return string(out)
}

// printable reports whether the rune r, decoded from n bytes, may be
// printed as it is.
func printable(r rune, n int) bool {
	if r < utf8.RuneSelf {
		return ' ' <= r && r < 0x7f
	}
	return !(r == utf8.RuneError && n == 1) && strconv.IsGraphic(r)
}

// An App is one app folder of the project.
type App struct {
	ID string
	// Path is the app's folder relative to the root; "" or "." is the root.
	Path string
}

// A Key is the name of one secret; lint never needs its value.
type Key struct {
	Name string
	// As is the name the command sees the key under when a manifest
	// renames it (FROM as NAME); "" means Name.
	As string
	// Origin says where the key was declared, for messages:
	// "secrets.manifest:3", "--require" or a source name.
	Origin string
	// App is the Path of the app whose manifest declares the key, or ""
	// for a key of the whole project.
	App string
	// File and Line locate the manifest line that declares the key, File
	// relative to the root. Only keys with a File can be reported stale.
	File string
	Line int
}

// Options says what to check.
type Options struct {
	// Apps lists the app folders. Empty means the root is the one app.
	Apps []App
	// Dir is the folder to report on, relative to the root; "" is the
	// root. Only the apps that hold Dir or lie in it are read. When Dir
	// lies inside an app, the whole app is still read, so that its
	// backend's references count, but only findings in Dir and the
	// manifests' stale keys are reported, with paths relative to Dir.
	// Keys of the apps not read are still secrets in browser code, but
	// only keys of apps read can be stale.
	Dir string
	// Keys lists the secrets. Every key counts as a secret in the browser
	// code of every app; for the backend checks a key with an App belongs
	// to that app only.
	Keys []Key
	// Findings were found before the walk, such as the manifests that
	// Manifests would not read; their paths are relative to the root.
	Findings []Finding
}

// MaxFileSize is the largest file lint reads; bigger ones (bundles, data)
// are skipped.
const MaxFileSize = 1 << 20

// skipDirs are never entered: dependencies, build output and Git's store.
var skipDirs = map[string]bool{
	"node_modules": true, ".git": true,
	"dist": true, "build": true, "out": true, "coverage": true,
	".next": true, ".nuxt": true, ".output": true, ".svelte-kit": true,
}

// sourceExts are the file types lint scans for code; markup marks the ones
// whose HTML comments are comments.
var sourceExts = map[string]struct{ markup bool }{
	".js": {}, ".mjs": {}, ".cjs": {}, ".jsx": {},
	".ts": {}, ".mts": {}, ".cts": {}, ".tsx": {},
	".vue": {true}, ".svelte": {true}, ".astro": {true}, ".html": {true}, ".htm": {true},
}

// walkDir and openFile are filepath.WalkDir and os.Open, replaced in tests
// that need a folder or file to fail where permissions do not (as root).
var (
	walkDir  = filepath.WalkDir
	openFile = os.Open
)

// A name is a word lint looks for in browser code: a secret's name, or a
// copy of it with a prefix that bundlers expose to the browser.
type name struct {
	key    *Key
	public bool
}

// publicPrefixes are the prefixes with which Vite and Next.js put a variable
// into the browser bundle.
var publicPrefixes = []string{"VITE_", "NEXT_PUBLIC_"}

// A place says what code a folder holds.
type place struct {
	app     int
	backend bool
}

type linter struct {
	root     string // resolved, absolute
	dir      string // Options.Dir, cleaned
	apps     []App  // cleaned paths
	appIndex map[string]int
	backends []string // each app's backend folder

	names  map[string]name   // every secret's name and public copies
	known  []map[string]bool // per app: keys the backend may read
	refs   []map[string]bool // per app: key names its backend reads
	walked []bool            // per app: whether its folder was read
	keys   []Key             // all keys, for the stale check
	dirs   map[string]place  // folder (relative) -> what it holds
	buf    []byte            // read buffer, MaxFileSize+1
	found  []Finding
}

// Run checks the tree at root and returns its findings sorted by path, line
// and column. It fails only when the tree cannot be read.
func Run(root string, opts Options) ([]Finding, error) {
	abs, err := filepath.EvalSymlinks(root)
	if err == nil {
		abs, err = filepath.Abs(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("lint: %s: %w", escape(root), oserr.Cause(err))
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("lint: %s: %w", escape(root), oserr.Cause(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("lint: %s: not a directory", escape(root))
	}
	l := &linter{root: abs, appIndex: map[string]int{}, dirs: map[string]place{}}
	if l.dir, err = cleanPath(opts.Dir); err != nil {
		return nil, fmt.Errorf("lint: %s: %w", escape(opts.Dir), err)
	}
	if err := l.setApps(opts.Apps); err != nil {
		return nil, err
	}
	if err := l.setKeys(opts.Keys); err != nil {
		return nil, err
	}
	l.buf = make([]byte, MaxFileSize+1)
	l.walked = make([]bool, len(l.apps))
	for i, a := range l.apps {
		if l.nested(a.Path) || !contains(a.Path, l.dir) && !contains(l.dir, a.Path) {
			continue
		}
		for j, b := range l.apps {
			if contains(a.Path, b.Path) {
				l.walked[j] = true
			}
		}
		l.dirs[a.Path] = place{app: i}
		if err := walkDir(filepath.Join(l.root, filepath.FromSlash(a.Path)), l.visit); err != nil {
			return nil, err
		}
	}
	l.relocate()
	l.stale()
	for _, f := range opts.Findings {
		f.Path = l.report(f.Path)
		l.found = append(l.found, f)
	}
	sort.Slice(l.found, func(i, j int) bool {
		a, b := l.found[i], l.found[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Message < b.Message
	})
	return l.found, nil
}

func (l *linter) setApps(apps []App) error {
	if len(apps) == 0 {
		apps = []App{{}}
	}
	for _, a := range apps {
		p, err := cleanPath(a.Path)
		if err != nil {
			return fmt.Errorf("lint: app %s: %w", appName(a), err)
		}
		if _, dup := l.appIndex[p]; dup {
			continue
		}
		fi, err := os.Lstat(filepath.Join(l.root, filepath.FromSlash(p)))
		if err != nil {
			return fmt.Errorf("lint: app %s: %s: %w", appName(a), escape(a.Path), oserr.Cause(err))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("lint: app %s: %s: a symbolic link, which lint does not follow", appName(a), escape(a.Path))
		}
		if !fi.IsDir() {
			return fmt.Errorf("lint: app %s: %s: not a directory", appName(a), escape(a.Path))
		}
		// A folder on the way may be a link (apps -> /elsewhere); the
		// app must still lie in the tree.
		if !l.within(filepath.Join(l.root, filepath.FromSlash(p))) {
			return fmt.Errorf("lint: app %s: path %s is outside the project", appName(a), escape(a.Path))
		}
		a.Path = p
		l.appIndex[p] = len(l.apps)
		l.apps = append(l.apps, a)
		l.backends = append(l.backends, path.Join(p, "backend"))
		l.refs = append(l.refs, map[string]bool{})
	}
	return nil
}

// appName names a in errors: by its id, or else its quoted path. Both come
// from the project's files and are escaped.
func appName(a App) string {
	if a.ID != "" {
		return escape(a.ID)
	}
	return fmt.Sprintf("%q", a.Path)
}

// cleanPath makes an app path slash-separated and clean, "" for the root,
// and refuses one that leaves the root.
func cleanPath(p string) (string, error) {
	p = path.Clean(filepath.ToSlash(p))
	if p == "." {
		return "", nil
	}
	if path.IsAbs(p) || filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("path %s is outside the project", escape(p))
	}
	return p, nil
}

// contains reports whether the folder dir (relative, "" for the root) is p
// or holds it.
func contains(dir, p string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// relocate keeps the findings in l.dir and makes their paths relative to
// it. The manifest files that keys name are made so in setKeys.
func (l *linter) relocate() {
	if l.dir == "" {
		return
	}
	kept := l.found[:0]
	for _, f := range l.found {
		if strings.HasPrefix(f.Path, l.dir+"/") {
			f.Path = f.Path[len(l.dir)+1:]
			kept = append(kept, f)
		}
	}
	l.found = kept
}

// report returns rel, a path relative to the root, as findings name it:
// relative to l.dir, which it may lie outside ("../secrets.manifest").
func (l *linter) report(rel string) string {
	r, err := filepath.Rel(filepath.FromSlash(l.dir), filepath.FromSlash(rel))
	if err != nil {
		return rel
	}
	return filepath.ToSlash(r)
}

// nested reports whether p lies inside another app's folder, which the walk
// of that folder covers.
func (l *linter) nested(p string) bool {
	for _, a := range l.apps {
		if a.Path != p && (a.Path == "" || strings.HasPrefix(p, a.Path+"/")) {
			return true
		}
	}
	return false
}

func (l *linter) setKeys(keys []Key) error {
	l.names = map[string]name{}
	l.known = make([]map[string]bool, len(l.apps))
	for i := range l.known {
		l.known[i] = map[string]bool{}
	}
	l.keys = make([]Key, len(keys))
	copy(l.keys, keys)
	for i := range l.keys {
		k := &l.keys[i]
		if k.File != "" && l.dir != "" {
			k.File = l.report(k.File)
		}
		if k.App != "" {
			p, err := cleanPath(k.App)
			if err != nil {
				return fmt.Errorf("lint: key %s: app %w", escape(k.Name), err)
			}
			if _, ok := l.appIndex[p]; !ok {
				return fmt.Errorf("lint: key %s: no app has the path %s", escape(k.Name), escape(k.App))
			}
			k.App = p
		}
		for _, n := range k.names() {
			if _, ok := l.names[n]; !ok {
				l.names[n] = name{key: k}
			}
			for _, prefix := range publicPrefixes {
				if _, ok := l.names[prefix+n]; !ok {
					l.names[prefix+n] = name{key: k, public: true}
				}
			}
			for a := range l.apps {
				if k.App == "" || l.apps[a].Path == k.App {
					l.known[a][n] = true
				}
			}
		}
	}
	// A key whose own name carries a public prefix is first a secret.
	for i := range l.keys {
		for _, n := range l.keys[i].names() {
			l.names[n] = name{key: &l.keys[i]}
		}
	}
	return nil
}

// allRead reports whether the folders of every app that app (a path, or ""
// for all of them) names were read.
func (l *linter) allRead(app string) bool {
	for i, a := range l.apps {
		if (app == "" || a.Path == app) && !l.walked[i] {
			return false
		}
	}
	return true
}

// where says where k was declared.
func (k *Key) where() string {
	if k.File != "" {
		return fmt.Sprintf("%s:%d", k.File, k.Line)
	}
	return k.Origin
}

func (l *linter) visit(p string, d fs.DirEntry, err error) error {
	rel := l.rel(p)
	if err != nil {
		// One unreadable folder costs a warning, not the whole run;
		// the root itself must be readable.
		if d == nil || contains(rel, l.dir) {
			return fmt.Errorf("lint: %s: %w", escape(rel), oserr.Cause(err))
		}
		l.add(rel, 1, 1, Warning, fmt.Sprintf("cannot read: %v", oserr.Cause(err)))
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	}
	if d.IsDir() {
		if i, ok := l.appIndex[rel]; ok {
			l.dirs[rel] = place{app: i}
			return nil
		}
		if skipDirs[d.Name()] {
			return filepath.SkipDir
		}
		pl := l.dirs[parent(rel)]
		if rel == l.backends[pl.app] {
			pl.backend = true
		}
		l.dirs[rel] = pl
		return nil
	}
	pl := l.dirs[parent(rel)]
	base := d.Name()
	if pl.backend && isDotEnv(base) {
		// By name alone: the file is never read.
		l.add(rel, 1, 1, Error, ".env file in backend code; keep secrets in the store and delete the file")
		return nil
	}
	kind := l.kind(base, pl)
	if kind == none {
		return nil
	}
	if d.Type()&fs.ModeSymlink != 0 {
		if !l.inside(p) {
			return nil
		}
	} else if !d.Type().IsRegular() {
		return nil
	}
	src, err := l.read(p)
	if err != nil {
		l.add(rel, 1, 1, Warning, fmt.Sprintf("cannot read: %v", oserr.Cause(err)))
		return nil
	}
	if src == nil {
		return nil
	}
	switch kind {
	case packageJSON:
		l.packageJSON(rel, src)
	case envFile:
		l.envFile(rel, src)
	case source, markup:
		l.source(rel, src, pl, kind == markup)
	}
	return nil
}

type fileKind int

const (
	none fileKind = iota
	source
	markup
	packageJSON
	envFile
)

func (l *linter) kind(base string, pl place) fileKind {
	switch {
	case pl.backend && base == "package.json":
		return packageJSON
	case !pl.backend && isDotEnv(base):
		return envFile
	}
	if ext, ok := sourceExts[path.Ext(base)]; ok {
		if ext.markup {
			return markup
		}
		return source
	}
	return none
}

// isDotEnv reports whether base is ".env" or ".env.SOMETHING".
func isDotEnv(base string) bool {
	return base == ".env" || strings.HasPrefix(base, ".env.")
}

// inside reports whether the symlink p resolves to a regular file inside the
// root. Symlinks never lead lint out of the tree.
func (l *linter) inside(p string) bool {
	if !l.within(p) {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// within reports whether p, its links resolved, is the root or lies in it.
func (l *linter) within(p string) bool {
	t, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(l.root, t)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// read returns the file's content in l.buf, or nil when it is larger than
// MaxFileSize.
func (l *linter) read(p string) ([]byte, error) {
	f, err := openFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, l.buf)
	switch {
	case err == nil:
		return nil, nil // more than MaxFileSize
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return l.buf[:n], nil
	}
	return nil, err
}

func (l *linter) rel(p string) string {
	r, err := filepath.Rel(l.root, p)
	if err != nil || r == "." {
		return ""
	}
	return filepath.ToSlash(r)
}

func parent(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

func (l *linter) add(rel string, line, col int, sev Severity, msg string) {
	l.found = append(l.found, Finding{Path: rel, Line: line, Col: col, Severity: sev, Message: msg})
}

// stale reports each manifest key that no backend code of its app (or, for
// a project key, of any app) references: reads by its store name or by the
// name the command sees it under. Reading one of the names a store key
// feeds does not reference the others.
func (l *linter) stale() {
	for i := range l.keys {
		k := &l.keys[i]
		if k.File == "" {
			continue
		}
		if !l.allRead(k.App) {
			// Some backend that may read it was not read.
			continue
		}
		used := false
		for a := range l.apps {
			if (k.App == "" || l.apps[a].Path == k.App) && (l.refs[a][k.Name] || k.As != "" && l.refs[a][k.As]) {
				used = true
				break
			}
		}
		if !used {
			l.add(k.File, k.Line, 1, Warning, fmt.Sprintf("%s is in the manifest but no backend code references it", k.label()))
		}
	}
}
