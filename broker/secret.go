package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/udpchat/udpchat/internal/settle"
)

// SecretBucket is the JetStream key-value bucket of the secrets servers
// share.
const SecretBucket = "udpchat_secrets"

// SecretSize is the size of a secret: 256 bits.
const SecretSize = 32

// Secret returns the secret called name, which every server on this NATS
// shares: the first to ask creates it (with Create, so that of two nodes
// asking at once one wins and both get its secret), and it stays for
// every later call, and restart. The resume key is one: a client resumes
// on any server, and after a restart.
func (b *Broker) Secret(ctx context.Context, name string) ([]byte, error) {
	// It is the first thing a server asks of JetStream, often of a
	// cluster still settling.
	var s []byte
	err := settle.Retry(ctx, b.log, fmt.Sprintf("broker: secret %q", name), func(c context.Context) (err error) {
		s, err = b.secret(c, name)
		return err
	})
	return s, err
}

func (b *Broker) secret(ctx context.Context, name string) ([]byte, error) {
	kv, err := b.bucket(ctx)
	if err != nil {
		return nil, fmt.Errorf("broker: secret %q: %w", name, err)
	}
	fresh := make([]byte, SecretSize)
	rand.Read(fresh)
	if _, err := kv.Create(ctx, name, fresh); err == nil {
		b.log.Info("broker: created a shared secret", "name", name)
		return fresh, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("broker: create secret %q: %w", name, err)
	}
	e, err := kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// Create found it, so it exists: a replica that has not caught
		// up answered the read (a cluster forming; TestCluster in CI).
		err = fmt.Errorf("%w: %w", settle.ErrLagging, err)
	}
	if err != nil {
		return nil, fmt.Errorf("broker: read secret %q: %w", name, err)
	}
	if len(e.Value()) != SecretSize {
		return nil, fmt.Errorf("broker: secret %q in bucket %s has %d bytes, want %d", name, SecretBucket, len(e.Value()), SecretSize)
	}
	return e.Value(), nil
}

// bucket opens the secrets' bucket, creating it if no node has yet.
func (b *Broker) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := b.js.KeyValue(ctx, SecretBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = b.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: SecretBucket, Description: "udpchat: secrets the servers share", History: 1, Replicas: b.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = b.js.KeyValue(ctx, SecretBucket)
		}
	}
	return kv, err
}
