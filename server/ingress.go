package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/udpchat/udpchat/core"
)

// readLoop reads and handles datagrams until the transport fails or ctx is
// done. Over a BatchTransport a burst of datagrams (ACKs from a room,
// mostly) is read in one system call, and what they cause (the next DATA to
// each recipient) is sent in one.
func (s *Server) readLoop(ctx context.Context) error {
	read, size := s.readOne, 1
	bt, batched := s.cfg.Transport.(core.BatchTransport)
	if batched {
		read, size = bt.ReadBatch, batchSize
	}
	dgs := make([]core.Datagram, size)
	for i := range dgs {
		dgs[i].B = make([]byte, 0, core.MaxDatagram+1) // one byte more, to see an oversize datagram
	}
	out := s.newOutbox()
	for {
		for i := range dgs {
			dgs[i].B = dgs[i].B[:cap(dgs[i].B)]
		}
		n, err := read(dgs)
		if err != nil {
			if ctx.Err() != nil {
				s.log.Info("server stopped")
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("core: server transport closed: %w", err)
			}
			s.log.Warn("read failed", "err", err)
			continue
		}
		for _, d := range dgs[:n] {
			s.handle(ctx, d.B, d.Addr, out)
		}
		out.flush()
	}
}

// readOne reads one datagram into dgs[0], for a transport without batches.
func (s *Server) readOne(dgs []core.Datagram) (int, error) {
	n, from, err := s.cfg.Transport.ReadFrom(dgs[0].B)
	if err != nil {
		return 0, err
	}
	dgs[0].B, dgs[0].Addr = dgs[0].B[:n], from
	return 1, nil
}

// HandleDatagram processes one datagram as if Serve had read it from from. It
// is the entry point every hostile byte goes through; tests and fuzz targets
// call it directly. It must not be called concurrently with itself.
func (s *Server) HandleDatagram(ctx context.Context, b []byte, from netip.AddrPort) {
	s.handle(ctx, b, from, nil)
}

// handle is HandleDatagram, sending what the datagram causes through out
// when it is not nil.
func (s *Server) handle(ctx context.Context, b []byte, from netip.AddrPort, out *outbox) {
	s.received.Add(1)
	if len(b) > core.MaxDatagram {
		s.drop(from, DropOversize, "oversize datagram", fmt.Errorf("%d bytes, at most %d", len(b), core.MaxDatagram))
		return
	}
	codec := s.codecOf(b)
	p, err := s.scratch.Decode(codec, b)
	if err != nil {
		s.drop(from, DropUndecodable, "undecodable", err)
		return
	}
	if p.Type == core.TypeKeyReq {
		p.Payload = bytes.Clone(p.Payload) // the handshake may keep it; it is rare
		s.handleKeyReq(ctx, codec, p, from, len(b))
		return
	}
	if p.Session != 0 {
		s.handleV2(ctx, codec, p, from, len(b), out)
		return
	}
	switch p.Type {
	case core.TypeData:
		s.handleV1Data(ctx, codec, p, from)
	default:
		s.drop(from, DropUnexpected, "unexpected packet type", errors.New(p.Type.String()))
	}
}

// codecOf picks the codec a datagram is written in.
func (s *Server) codecOf(b []byte) core.Codec {
	if len(s.codecs) > 1 {
		for _, c := range s.codecs {
			if sn, ok := c.(core.Sniffer); ok && sn.Sniff(b) {
				return c
			}
		}
	}
	return s.cfg.Codec
}

// drop drops a datagram from from, counting it under why and logging it
// with reason.
func (s *Server) drop(from netip.AddrPort, why DropReason, reason string, err error) {
	s.droppedBy[why].Add(1)
	s.drops.Drop(s.cfg.Now(), from, reason, err)
}

// batchSize is the most datagrams read or written in one system call.
const batchSize = 64

// wrongCodec drops, and reports, a datagram for sess in another codec than
// the one the session started in.
func (s *Server) wrongCodec(sess *session, codec core.Codec, from netip.AddrPort) bool {
	if sess.codec == codec {
		return false
	}
	s.drop(from, DropUnexpected, "datagram in a codec the session did not start in", fmt.Errorf("%s, not %s", codec.Name(), sess.codec.Name()))
	return true
}

// unknownSession tells a client that this server does not know its session
// (it restarted, or ended it), so that it reconnects at once instead of
// after its retries. The answer is an unsealed BYE naming the session: only
// the client and the old server knew the id, so a stranger cannot make a
// client drop a live session with one. It is never larger than what it
// answers, and answers only what could be a client's DATA or PING.
func (s *Server) unknownSession(codec core.Codec, p *core.Packet, from netip.AddrPort, size int) {
	if p.Type != core.TypeData && p.Type != core.TypePing {
		return
	}
	if dg := s.encode(codec, &core.Packet{Type: core.TypeBye, Session: p.Session}); dg != nil && len(dg) <= size {
		s.write(dg, from)
	}
}
