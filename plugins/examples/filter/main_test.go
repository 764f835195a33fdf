package main

import (
	"context"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/plugins/sdk"
)

func TestCensor(t *testing.T) {
	f := &filter{}
	if err := f.Configure(map[string]string{"words": " darn ,Heck,, ÉTÉ"}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, out string }{
		{"all clean", "all clean"},
		{"darn", "****"},
		{"oh DARN it, heckle the heck!", "oh **** it, heckle the ****!"},
		{"darn-heck darnheck", "****-**** darnheck"},
		{"l'été est là", "l'*** est là"},
		{"", ""},
		{"  ", "  "},
	}
	for _, tc := range cases {
		got, found := f.censor(tc.in)
		if got != tc.out || found != (tc.in != tc.out) {
			t.Errorf("censor(%q) = %q, %v; want %q", tc.in, got, found, tc.out)
		}
	}
}

func TestModes(t *testing.T) {
	f := &filter{}
	if err := f.Configure(map[string]string{"words": "heck", "mode": "drop"}, nil); err != nil {
		t.Fatal(err)
	}
	v, _ := f.OnMessage(context.Background(), sdk.Message{Text: "oh heck"})
	if v.Action != sdk.ActionReject || v.Reason != "message contains a filtered word" {
		t.Errorf("drop mode: %+v", v)
	}
	for _, cfg := range []map[string]string{
		{},
		{"words": " , "},
		{"words": "two words"},
		{"words": "x", "mode": "shout"},
	} {
		if err := (&filter{}).Configure(cfg, nil); err == nil {
			t.Errorf("Configure(%v) did not fail", cfg)
		} else if !strings.HasPrefix(err.Error(), "filter: ") {
			t.Errorf("Configure(%v): %v", cfg, err)
		}
	}
}
