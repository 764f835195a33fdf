package seed_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

// TestVectorHello: our KEY_REQ payload must be byte-identical to the seed's
// for the same key, trailing-newline-less PEM included.
func TestVectorHello(t *testing.T) {
	v, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, want := decodePacket(t, v.KeyReqPacket)
	if p.Type != "KEY_REQ" {
		t.Fatalf("key_req_packet type %q", p.Type)
	}
	if got := in.Hello(); !bytes.Equal(got, want) {
		t.Fatalf("Hello differs from the seed's KEY_REQ payload\n got: %q\nwant: %q", got, want)
	}
	if !bytes.Equal(want, []byte(v.RSAPublicKeyPEM)) {
		t.Errorf("KEY_REQ payload differs from rsa_public_key_pem")
	}
	if !bytes.Equal(in.Hello(), in.Hello()) {
		t.Error("Hello differs between calls")
	}
	// A caller scribbling on the result must not change later hellos.
	h := in.Hello()
	h[0] ^= 0xff
	if !bytes.Equal(in.Hello(), want) {
		t.Error("Hello returned internal storage")
	}
}

// TestVectorFinish unwraps the seed server's KEY_REP and checks, by opening
// one of the seed's messages, that the key is the one it reports.
func TestVectorFinish(t *testing.T) {
	v, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, reply := decodePacket(t, v.KeyRepPacket)
	if p.Type != "KEY_REP" {
		t.Fatalf("key_rep_packet type %q", p.Type)
	}
	keys, err := in.Finish(reply, v1)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want, err := seed.NewSessionKeys(mustB64(t, v.AESKeyB64))
	if err != nil {
		t.Fatal(err)
	}
	// The key itself is not exported, so compare by behaviour in both
	// directions.
	sealed, err := keys.Seal(nil, []byte("probe"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := want.Open(nil, sealed, nil); err != nil || string(pt) != "probe" {
		t.Fatalf("aes_key_b64 cannot open what the unwrapped key sealed: %q, %v", pt, err)
	}
	sealed, err = want.Seal(nil, []byte("probe"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := keys.Open(nil, sealed, nil); err != nil || string(pt) != "probe" {
		t.Fatalf("unwrapped key cannot open what aes_key_b64 sealed: %q, %v", pt, err)
	}
}

func TestVectorMessages(t *testing.T) {
	v, _ := loadVectors(t)
	keys, err := seed.NewSessionKeys(mustB64(t, v.AESKeyB64))
	if err != nil {
		t.Fatal(err)
	}
	var s seed.Suite
	for _, m := range v.Messages {
		t.Run(m.Name, func(t *testing.T) {
			payload := mustB64(t, m.Payload)
			got, err := keys.Open(nil, payload, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(got) != m.Plaintext {
				t.Fatalf("Open = %q, want %q", got, m.Plaintext)
			}
			if n := len(m.Plaintext); len(payload) != n+s.Overhead(n) {
				t.Errorf("payload of %d bytes, Overhead predicts %d", len(payload), n+s.Overhead(n))
			}
			if tag := keys.Tag(payload); !bytes.Equal(tag, payload[:32]) {
				t.Errorf("Tag = %x, want the first 32 bytes %x", tag, payload[:32])
			}

			// The DATA packet carries the same payload under a seq; the MAC
			// does not cover the seq (that is the v1 replay defect).
			p, data := decodePacket(t, m.ClientDataPacket)
			if p.Type != "DATA" || p.Seq == nil {
				t.Errorf("client_data_packet: type %q, seq %v", p.Type, p.Seq)
			}
			if got, err := keys.Open(nil, data, nil); err != nil || string(got) != m.Plaintext {
				t.Errorf("client_data_packet: Open = %q, %v", got, err)
			}
			// The vectors show a broadcast's shape (DATA, no seq) with the
			// same payload; the sender prefix is in the broadcast_form plaintext.
			p, bc := decodePacket(t, m.ServerBroadcastPacket)
			if p.Type != "DATA" || p.Seq != nil {
				t.Errorf("server_broadcast_packet: type %q, seq %v", p.Type, p.Seq)
			}
			if got, err := keys.Open(nil, bc, nil); err != nil || string(got) != m.Plaintext {
				t.Errorf("server_broadcast_packet: Open = %q, %v", got, err)
			}
		})
	}
}

func TestVectorMustReject(t *testing.T) {
	v, _ := loadVectors(t)
	keys, err := seed.NewSessionKeys(mustB64(t, v.AESKeyB64))
	if err != nil {
		t.Fatal(err)
	}
	// why is what the error must say; every case has one, so a new
	// must_reject entry fails here until someone decides what it means.
	why := map[string]string{
		"tag_flipped":                   "bad tag",
		"iv_flipped":                    "bad tag",
		"ciphertext_flipped":            "bad tag",
		"too_short":                     "too short",
		"tag_only":                      "too short",
		"not_base64":                    "", // fails in base64, before the suite
		"ciphertext_not_block_multiple": "not a multiple of the block size",
		"valid_mac_bad_padding":         "bad padding",
		"wrong_key":                     "bad tag",
	}
	for _, r := range v.MustReject {
		t.Run(r.Name, func(t *testing.T) {
			want, ok := why[r.Name]
			if !ok {
				t.Fatalf("must_reject entry %q has no expectation in this test", r.Name)
			}
			payload, err := base64.StdEncoding.DecodeString(r.Payload)
			if want == "" {
				var ce base64.CorruptInputError
				if !errors.As(err, &ce) {
					t.Fatalf("base64 decode: err = %v, want a CorruptInputError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("base64: %v", err)
			}
			dst := []byte("keep")
			got, err := keys.Open(dst[:4:4], payload, nil)
			if err == nil {
				t.Fatalf("Open accepted it: %q", got)
			}
			if got != nil {
				t.Errorf("Open returned %q alongside the error", got)
			}
			if !errors.Is(err, core.ErrAuth) {
				t.Errorf("error %q does not match core.ErrAuth", err)
			}
			if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "cipher/seed: open: ") {
				t.Errorf("error %q, want it to say %q", err, want)
			}
			if string(dst) != "keep" {
				t.Errorf("dst changed to %q", dst)
			}
		})
	}
}
