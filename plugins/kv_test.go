package plugins

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/udpchat/udpchat/proto/handlerpb"
)

// TestKVBounds: a set past a bound is refused with an error naming it,
// and leaves the store as it was; within the bounds, a value replaced or
// deleted frees its room.
func TestKVBounds(t *testing.T) {
	small := kvLimits{keys: 2, key: 4, value: 8, total: 20}
	type op struct {
		key, value string
		del        bool
		wantErr    string // "" for none
	}
	cases := []struct {
		name string
		ops  []op
		want map[string]string // what the store holds after
	}{
		{"key too long", []op{{key: "abcde", value: "v", wantErr: "a key has at most 4 bytes, this one 5"}}, map[string]string{}},
		{"empty key", []op{{key: "", value: "v", wantErr: "bad key: empty"}, {key: "\x9d", value: "v", wantErr: "bad key: not valid UTF-8"}}, map[string]string{}},
		{"value too long", []op{{key: "k", value: "123456789", wantErr: "a value has at most 8 bytes, this one 9"}}, map[string]string{}},
		{"too many keys", []op{{key: "a", value: "1"}, {key: "b", value: "2"}, {key: "c", value: "3", wantErr: "it holds 2 keys, the most it may"}},
			map[string]string{"a": "1", "b": "2"}},
		{"a key replaced is no new key", []op{{key: "a", value: "1"}, {key: "b", value: "2"}, {key: "a", value: "3"}},
			map[string]string{"a": "3", "b": "2"}},
		{"too many bytes", []op{{key: "aaaa", value: "12345678"}, {key: "bb", value: "1234567", wantErr: "it would hold 21 bytes, at most 20"}},
			map[string]string{"aaaa": "12345678"}},
		{"a delete frees room", []op{{key: "a", value: "1"}, {key: "b", value: "2"}, {key: "a", del: true}, {key: "c", value: "3"}},
			map[string]string{"b": "2", "c": "3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := openKV(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s.limits = small
			for _, o := range tc.ops {
				var err error
				if o.del {
					err = s.delete(o.key)
				} else {
					err = s.set(o.key, []byte(o.value))
				}
				switch {
				case o.wantErr == "" && err != nil:
					t.Errorf("%+v: %v", o, err)
				case o.wantErr != "" && (err == nil || !strings.Contains(err.Error(), o.wantErr)):
					t.Errorf("%+v: error %v, want one saying %q", o, err, o.wantErr)
				}
			}
			// What is held is what was set, and what a new open reads back.
			again, err := openKV(filepath.Dir(s.path))
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range []*kvStore{s, again} {
				if len(st.data) != len(tc.want) {
					t.Errorf("holds %d keys, want %v", len(st.data), tc.want)
				}
				for k, v := range tc.want {
					if got, ok := st.get(k); !ok || string(got) != v {
						t.Errorf("%q: %q %v, want %q", k, got, ok, v)
					}
				}
			}
		})
	}
}

// TestKVCorrupt: a store whose file is not what the server wrote stops
// the plugin's start, with the file's path in the error.
func TestKVCorrupt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, kvFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openKV(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, kvFile)) {
		t.Errorf("openKV of a corrupt file: %v, want an error naming it", err)
	}
}

// TestKVHost: what a plugin is told through the Host service: a set past
// a bound is RESOURCE_EXHAUSTED saying which, and a plugin without a
// state directory is told it has no store.
func TestKVHost(t *testing.T) {
	s, err := openKV(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h := hostServer{p: &Plugin{cfg: Config{Name: "p"}, kv: s, log: log}}
	ctx := context.Background()
	if _, err := h.KVSet(ctx, &handlerpb.KVPair{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if v, err := h.KVGet(ctx, &handlerpb.KVKey{Key: "k"}); err != nil || !v.GetFound() || string(v.GetValue()) != "v" {
		t.Errorf("KVGet: %v, %v", v, err)
	}
	if v, err := h.KVGet(ctx, &handlerpb.KVKey{Key: "none"}); err != nil || v.GetFound() {
		t.Errorf("KVGet of a missing key: %v, %v", v, err)
	}
	_, err = h.KVSet(ctx, &handlerpb.KVPair{Key: "big", Value: make([]byte, defaultKVLimits.value+1)})
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "a value has at most 65536 bytes") {
		t.Errorf("KVSet past the value bound: %v", err)
	}
	none := hostServer{p: &Plugin{cfg: Config{Name: "p"}, log: log}}
	_, err = none.KVGet(ctx, &handlerpb.KVKey{Key: "k"})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "no key-value store") {
		t.Errorf("KVGet without a store: %v", err)
	}
	if !errors.Is(s.set("x", make([]byte, defaultKVLimits.value+1)), errKVFull) {
		t.Error("a set past a bound is not errKVFull")
	}
}

// FuzzKV: whatever keys and values a plugin sends, the store keeps its
// bounds and its count of bytes, and reads back what it holds.
func FuzzKV(f *testing.F) {
	f.Add("k", []byte("v"), "k", []byte("longer value"))
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte) {
		s, err := openKV(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s.limits = kvLimits{keys: 1, key: 8, value: 16, total: 20}
		_ = s.set(k1, v1)
		_ = s.set(k2, v2)
		again, err := openKV(filepath.Dir(s.path))
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for k, v := range again.data {
			total += len(k) + len(v)
		}
		if total != s.total || total > 20 || len(again.data) > 1 {
			t.Fatalf("holds %d keys, %d bytes (counted %d)", len(again.data), total, s.total)
		}
	})
}
