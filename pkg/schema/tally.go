package schema

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// Tally field numbers; see schema.proto.
const (
	tallyMonth = 1

	monthYear         = 1
	monthMonth        = 2
	monthRecords      = 3
	monthHousing      = 4 // packed, index = HEHOUSUT code
	monthHousingOther = 5
	monthState        = 6

	stateFIPS             = 1
	stateEmployed         = 2
	stateUnemployed       = 3
	stateNotInLabor       = 4
	stateEmployedWeight   = 5
	stateUnemployedWeight = 6
	stateNotInLaborWeight = 7
)

// AppendTally appends the encoding of t to b. Months and states with
// nothing counted are left out.
func AppendTally(b []byte, t *tally.Tally) []byte {
	var mb []byte
	for p, m := range t.All() {
		if m.IsZero() {
			continue
		}
		mb = appendVarint(mb[:0], monthYear, uint64(p.Year))
		mb = appendVarint(mb, monthMonth, uint64(p.Month))
		mb = appendVarint(mb, monthRecords, m.Records)
		var packed []byte
		for _, n := range m.Housing {
			packed = protowire.AppendVarint(packed, n)
		}
		mb = appendMessage(mb, monthHousing, packed)
		mb = appendVarint(mb, monthHousingOther, m.HousingOther)
		for fips := range m.States {
			l := &m.States[fips]
			if l.IsZero() {
				continue
			}
			var sb []byte
			sb = protowire.AppendTag(sb, stateFIPS, protowire.VarintType)
			sb = protowire.AppendVarint(sb, uint64(fips))
			sb = appendVarint(sb, stateEmployed, l.Employed)
			sb = appendVarint(sb, stateUnemployed, l.Unemployed)
			sb = appendVarint(sb, stateNotInLabor, l.NotInLaborForce)
			sb = appendSigned(sb, stateEmployedWeight, l.EmployedWeight)
			sb = appendSigned(sb, stateUnemployedWeight, l.UnemployedWeight)
			sb = appendSigned(sb, stateNotInLaborWeight, l.NotInLaborForceWeight)
			mb = appendMessage(mb, monthState, sb)
		}
		b = appendMessage(b, tallyMonth, mb)
	}
	return b
}

// DecodeTally adds the counts encoded in b to t. A tally of more than
// MaxTallyMonths periods is rejected before the period past it is added.
func DecodeTally(b []byte, t *tally.Tally) error {
	return walk(b, func(_ protowire.Number, _ protowire.Type, _ uint64, bs []byte) error {
		var (
			p tally.Period
			m tally.Month
		)
		err := walk(bs, func(num protowire.Number, _ protowire.Type, v uint64, mbs []byte) error {
			switch num {
			case monthYear:
				p.Year = int(v)
			case monthMonth:
				p.Month = int(v)
			case monthRecords:
				m.Records = v
			case monthHousing:
				for i := 0; len(mbs) > 0; i++ {
					n, k := protowire.ConsumeVarint(mbs)
					if k < 0 {
						return fmt.Errorf("%w: housing counts: %v", ErrMalformed, protowire.ParseError(k))
					}
					if i < len(m.Housing) {
						m.Housing[i] = n
					}
					mbs = mbs[k:]
				}
			case monthHousingOther:
				m.HousingOther = v
			case monthState:
				return decodeState(mbs, &m)
			}
			return nil
		}, monthTypes)
		if err != nil {
			return err
		}
		if t.Month(p.Year, p.Month) == nil && t.Len() >= MaxTallyMonths {
			return limitErr("tally periods", uint64(t.Len())+1, MaxTallyMonths)
		}
		t.AddMonth(p, &m)
		return nil
	}, tallyTypes)
}

func decodeState(b []byte, m *tally.Month) error {
	var (
		fips uint64
		l    tally.Labor
	)
	err := walk(b, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
		switch num {
		case stateFIPS:
			fips = v
		case stateEmployed:
			l.Employed = v
		case stateUnemployed:
			l.Unemployed = v
		case stateNotInLabor:
			l.NotInLaborForce = v
		case stateEmployedWeight:
			l.EmployedWeight = protowire.DecodeZigZag(v)
		case stateUnemployedWeight:
			l.UnemployedWeight = protowire.DecodeZigZag(v)
		case stateNotInLaborWeight:
			l.NotInLaborForceWeight = protowire.DecodeZigZag(v)
		}
		return nil
	}, stateTypes)
	if err != nil {
		return err
	}
	if fips > census.MaxState {
		return fmt.Errorf("%w: state FIPS %d", ErrMalformed, fips)
	}
	m.States[fips].Add(&l)
	return nil
}

var (
	tallyTypes = map[protowire.Number]protowire.Type{tallyMonth: protowire.BytesType}
	monthTypes = map[protowire.Number]protowire.Type{
		monthYear: protowire.VarintType, monthMonth: protowire.VarintType, monthRecords: protowire.VarintType,
		monthHousing: protowire.BytesType, monthHousingOther: protowire.VarintType, monthState: protowire.BytesType,
	}
	stateTypes = map[protowire.Number]protowire.Type{
		stateFIPS: protowire.VarintType, stateEmployed: protowire.VarintType, stateUnemployed: protowire.VarintType,
		stateNotInLabor: protowire.VarintType, stateEmployedWeight: protowire.VarintType,
		stateUnemployedWeight: protowire.VarintType, stateNotInLaborWeight: protowire.VarintType,
	}
)
