package core

// Codec turns a Packet into one datagram and back. It knows nothing of keys,
// sessions or reliability. Implementations must be safe for concurrent use.
type Codec interface {
	// Name is the name the codec is registered and configured under.
	Name() string
	// Append appends the encoding of p to dst and returns the extended slice.
	Append(dst []byte, p *Packet) ([]byte, error)
	// Decode parses one datagram. It must reject, with an error that says why,
	// anything that is not a well-formed packet: wrong field types, negative or
	// fractional sequence numbers, bad payload encoding, unknown packet types.
	// The returned Packet must not alias b.
	Decode(b []byte) (*Packet, error)
}

// Codecs maps codec names to implementations ("json", "protobuf").
var Codecs = NewRegistry[Codec]("codec")

// DecoderTo is an optional capability of a Codec: it decodes into a Packet
// the caller owns, so that a hot path allocates nothing (the server decodes
// every ACK of a room this way).
type DecoderTo interface {
	// DecodeTo decodes b as Decode does, overwriting all of p; the payload,
	// if b has one, is written to buf[:0], to reuse its storage. p never
	// aliases b.
	DecodeTo(p *Packet, b, buf []byte) error
}

// DecodeNew is Decode for a codec that has DecodeTo: into a new packet.
func DecodeNew(d DecoderTo, b []byte) (*Packet, error) {
	p := new(Packet)
	if err := d.DecodeTo(p, b, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// ScratchDecoder decodes datagrams into one reused packet where the codec
// can (DecoderTo), so that the hot path allocates no packet per datagram.
// The next decode overwrites the packet and its payload: nothing handling a
// packet may keep either.
type ScratchDecoder struct {
	pkt     Packet
	payload []byte
}

// Decode decodes b in c, into the scratch packet where c can.
func (sd *ScratchDecoder) Decode(c Codec, b []byte) (*Packet, error) {
	d, ok := c.(DecoderTo)
	if !ok {
		return c.Decode(b)
	}
	if err := d.DecodeTo(&sd.pkt, b, sd.payload); err != nil {
		return nil, err
	}
	if sd.pkt.Payload != nil {
		sd.payload = sd.pkt.Payload[:0]
	}
	return &sd.pkt, nil
}

// Sniffer is an optional capability of a Codec: it recognises its own
// datagrams, so that a server can speak several codecs at once ("auto") and
// answer each session in the one it spoke.
type Sniffer interface {
	Sniff(datagram []byte) bool
}
