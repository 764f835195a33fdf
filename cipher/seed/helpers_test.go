package seed_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// v1 is the handshake of protocol version 1, the seed's, for the tests that
// predate version 2 and must keep passing unchanged.
var v1 = core.Handshake{Version: 1}

const vectorsPath = "../../testdata/seed-vectors.json"

// vectors mirrors testdata/seed-vectors.json, written by the seed's
// Python/pycryptodome reference code.
type vectors struct {
	RSAPrivateKeyPEM string `json:"rsa_private_key_pem"`
	RSAPublicKeyPEM  string `json:"rsa_public_key_pem"`
	AESKeyB64        string `json:"aes_key_b64"`
	KeyReqPacket     string `json:"key_req_packet"`
	KeyRepPacket     string `json:"key_rep_packet"`
	Messages         []struct {
		Name                  string `json:"name"`
		Plaintext             string `json:"plaintext"`
		Payload               string `json:"payload"`
		ClientDataPacket      string `json:"client_data_packet"`
		ServerBroadcastPacket string `json:"server_broadcast_packet"`
	} `json:"messages"`
	MustReject []struct {
		Name    string `json:"name"`
		Payload string `json:"payload"`
	} `json:"must_reject"`
}

var (
	vecOnce sync.Once
	vec     vectors
	vecKey  *rsa.PrivateKey
	vecErr  error
)

// loadVectors parses the file and its private key once: the tests and the
// fuzz targets all need them, and parsing the key repeatedly is wasted work.
func loadVectors(tb testing.TB) (vectors, *rsa.PrivateKey) {
	tb.Helper()
	vecOnce.Do(func() {
		var b []byte
		if b, vecErr = os.ReadFile(vectorsPath); vecErr != nil {
			return
		}
		if vecErr = json.Unmarshal(b, &vec); vecErr != nil {
			return
		}
		block, _ := pem.Decode([]byte(vec.RSAPrivateKeyPEM))
		if block == nil || block.Type != "RSA PRIVATE KEY" {
			vecErr = errors.New("rsa_private_key_pem is not an RSA PRIVATE KEY block")
			return
		}
		vecKey, vecErr = x509.ParsePKCS1PrivateKey(block.Bytes)
	})
	if vecErr != nil {
		tb.Fatalf("loading %s: %v", vectorsPath, vecErr)
	}
	return vec, vecKey
}

// packet is the part of a seed JSON datagram these tests look at; the codec
// is not this package's business, so the tests decode it by hand.
type packet struct {
	Type    string `json:"type"`
	Seq     *int   `json:"seq"`
	Payload string `json:"payload"`
}

func decodePacket(tb testing.TB, s string) (packet, []byte) {
	tb.Helper()
	var p packet
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		tb.Fatalf("packet %q: %v", s, err)
	}
	payload, err := base64.StdEncoding.DecodeString(p.Payload)
	if err != nil {
		tb.Fatalf("packet %q: payload: %v", s, err)
	}
	return p, payload
}

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("base64 %q: %v", s, err)
	}
	return b
}
