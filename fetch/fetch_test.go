package fetch

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// fake is a Source returning fixed secrets, in a fresh slice each time.
type fake struct {
	name    string
	secrets []Secret
	err     error
}

func (f *fake) Name() string { return f.name }

func (f *fake) Fetch(context.Context) ([]Secret, error) {
	return append([]Secret(nil), f.secrets...), f.err
}

func TestAll(t *testing.T) {
	a := &fake{name: "a", secrets: []Secret{{Key: "X", Value: "a1"}, {Key: "Y", Value: "a2"}, {Key: "X", Value: "a3"}}}
	b := &fake{name: "b", secrets: []Secret{{Key: "Z", Value: "b1"}, {Key: "Y", Value: ""}}}
	empty := &fake{name: "empty"}
	tests := []struct {
		name    string
		sources []Source
		want    []Secret
	}{
		{"none", nil, nil},
		{"empty", []Source{empty}, nil},
		{"one, a later duplicate wins in the first place", []Source{a},
			[]Secret{{Key: "X", Value: "a3"}, {Key: "Y", Value: "a2"}}},
		{"later source wins, empty included", []Source{a, b},
			[]Secret{{Key: "X", Value: "a3"}, {Key: "Y", Value: ""}, {Key: "Z", Value: "b1"}}},
		{"order of first appearance", []Source{b, a},
			[]Secret{{Key: "Z", Value: "b1"}, {Key: "Y", Value: "a2"}, {Key: "X", Value: "a3"}}},
		{"empty first", []Source{empty, b}, b.secrets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := All(context.Background(), tt.sources)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestAllStopsAtFailure(t *testing.T) {
	plain := errors.New("boom")
	typed := &Error{Kind: Permission, Source: "typed", Err: plain}
	never := &fake{name: "never", err: errors.New("fetched after a failure")}
	for _, tt := range []struct {
		err  error
		kind Kind
	}{{plain, Unavailable}, {typed, Permission}} {
		_, err := All(context.Background(), []Source{&fake{name: "ok"}, &fake{name: "bad", err: tt.err}, never})
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != tt.kind || !errors.Is(err, plain) {
			t.Errorf("error = %v; want kind %d wrapping %v", err, tt.kind, plain)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := All(ctx, []Source{never}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v; want context.Canceled", err)
	}
}
