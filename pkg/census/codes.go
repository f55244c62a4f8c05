package census

import "fmt"

// MaxHousing is the largest HEHOUSUT code.
const MaxHousing = 12

var housing = [MaxHousing + 1]string{
	0:  "OTHER UNIT",
	1:  "HOUSE, APARTMENT, FLAT",
	2:  "HU IN NONTRANSIENT HOTEL, MOTEL, ETC.",
	3:  "HU PERMANENT IN TRANSIENT HOTEL, MOTEL",
	4:  "HU IN ROOMING HOUSE",
	5:  "MOBILE HOME OR TRAILER W/NO PERM. ROOM ADDED",
	6:  "MOBILE HOME OR TRAILER W/1 OR MORE PERM. ROOMS ADDED",
	7:  "HU NOT SPECIFIED ABOVE",
	8:  "QUARTERS NOT HU IN ROOMING OR BRDING HS",
	9:  "UNIT NOT PERM. IN TRANSIENT HOTL, MOTL",
	10: "UNOCCUPIED TENT SITE OR TRLR SITE",
	11: "STUDENT QUARTERS IN COLLEGE DORM",
	12: "OTHER UNIT NOT SPECIFIED ABOVE",
}

// HousingDescription is the layout's text for a HEHOUSUT code, such as
// "HOUSE, APARTMENT, FLAT" for 1; "" for a code it does not define.
func HousingDescription(code int) string {
	if code < 0 || code > MaxHousing {
		return ""
	}
	return housing[code]
}

// TenureDescription is the text for a HETENURE code; "" for a code the
// layout does not define.
func TenureDescription(code int) string {
	switch code {
	case 1:
		return "OWNED OR BEING BOUGHT"
	case 2:
		return "RENTED FOR CASH"
	case 3:
		return "OCCUPIED WITHOUT PAYMENT OF CASH RENT"
	case -1:
		return "NOT IN UNIVERSE"
	case -2:
		return "DON'T KNOW"
	case -3:
		return "REFUSED"
	}
	return ""
}

// MaxState is the largest state FIPS code (Wyoming), so arrays indexed by
// GESTFIPS have MaxState+1 entries.
const MaxState = 56

type state struct{ abbrev, name string }

// states holds the 50 states and the District of Columbia by FIPS code;
// the gaps (3, 7, 14, 43, 52) are codes once reserved for territories.
var states = [MaxState + 1]state{
	1: {"AL", "Alabama"}, 2: {"AK", "Alaska"}, 4: {"AZ", "Arizona"}, 5: {"AR", "Arkansas"},
	6: {"CA", "California"}, 8: {"CO", "Colorado"}, 9: {"CT", "Connecticut"}, 10: {"DE", "Delaware"},
	11: {"DC", "District of Columbia"}, 12: {"FL", "Florida"}, 13: {"GA", "Georgia"}, 15: {"HI", "Hawaii"},
	16: {"ID", "Idaho"}, 17: {"IL", "Illinois"}, 18: {"IN", "Indiana"}, 19: {"IA", "Iowa"},
	20: {"KS", "Kansas"}, 21: {"KY", "Kentucky"}, 22: {"LA", "Louisiana"}, 23: {"ME", "Maine"},
	24: {"MD", "Maryland"}, 25: {"MA", "Massachusetts"}, 26: {"MI", "Michigan"}, 27: {"MN", "Minnesota"},
	28: {"MS", "Mississippi"}, 29: {"MO", "Missouri"}, 30: {"MT", "Montana"}, 31: {"NE", "Nebraska"},
	32: {"NV", "Nevada"}, 33: {"NH", "New Hampshire"}, 34: {"NJ", "New Jersey"}, 35: {"NM", "New Mexico"},
	36: {"NY", "New York"}, 37: {"NC", "North Carolina"}, 38: {"ND", "North Dakota"}, 39: {"OH", "Ohio"},
	40: {"OK", "Oklahoma"}, 41: {"OR", "Oregon"}, 42: {"PA", "Pennsylvania"}, 44: {"RI", "Rhode Island"},
	45: {"SC", "South Carolina"}, 46: {"SD", "South Dakota"}, 47: {"TN", "Tennessee"}, 48: {"TX", "Texas"},
	49: {"UT", "Utah"}, 50: {"VT", "Vermont"}, 51: {"VA", "Virginia"}, 53: {"WA", "Washington"},
	54: {"WV", "West Virginia"}, 55: {"WI", "Wisconsin"}, 56: {"WY", "Wyoming"},
}

// ValidState reports whether fips is the code of a state or DC.
func ValidState(fips int) bool {
	return fips > 0 && fips <= MaxState && states[fips].abbrev != ""
}

// StateName is the name of the state with code fips, such as "Alabama";
// "" when fips is not a state's code.
func StateName(fips int) string {
	if !ValidState(fips) {
		return ""
	}
	return states[fips].name
}

// StateAbbrev is the postal abbreviation of the state with code fips, such
// as "AL"; "" when fips is not a state's code.
func StateAbbrev(fips int) string {
	if !ValidState(fips) {
		return ""
	}
	return states[fips].abbrev
}

// StateByAbbrev is the FIPS code of the state with the postal abbreviation
// abbrev (upper case), or 0.
func StateByAbbrev(abbrev string) int {
	for fips, s := range states {
		if s.abbrev != "" && s.abbrev == abbrev {
			return fips
		}
	}
	return 0
}

// States lists the FIPS codes of the 50 states and DC in increasing order.
func States() []int {
	codes := make([]int, 0, 51)
	for fips := range states {
		if ValidState(fips) {
			codes = append(codes, fips)
		}
	}
	return codes
}

// LaborForce is a person's labor force status, a grouping of PEMLR codes.
type LaborForce int8

// Labor force statuses.
const (
	NotInUniverse   LaborForce = iota // PEMLR -1: under 15 or in the armed forces
	Employed                          // PEMLR 1 at work, 2 absent
	Unemployed                        // PEMLR 3 on layoff, 4 looking
	NotInLaborForce                   // PEMLR 5 retired, 6 disabled, 7 other
)

// LaborForceStatus groups a PEMLR code. Codes the layout does not define
// are NotInUniverse.
func LaborForceStatus(pemlr int) LaborForce {
	switch pemlr {
	case 1, 2:
		return Employed
	case 3, 4:
		return Unemployed
	case 5, 6, 7:
		return NotInLaborForce
	}
	return NotInUniverse
}

func (l LaborForce) String() string {
	switch l {
	case Employed:
		return "employed"
	case Unemployed:
		return "unemployed"
	case NotInLaborForce:
		return "not in labor force"
	}
	return "not in universe"
}

// MaxSex is the largest PESEX code, so arrays indexed by PESEX have
// MaxSex+1 entries; entry 0 holds records whose PESEX is neither 1 nor 2.
const MaxSex = 2

// SexName is "male" for PESEX 1, "female" for 2 and "unknown" for any
// other code.
func SexName(code int) string {
	switch code {
	case 1:
		return "male"
	case 2:
		return "female"
	}
	return "unknown"
}

// AgeGroup is an age band of the labor force tables, the bands BLS
// publishes employment status in: 16-19, 20-24, 25-54, 55-64, 65 and over.
type AgeGroup int

// The age groups, youngest first.
const (
	Age16To19 AgeGroup = iota
	Age20To24
	Age25To54
	Age55To64
	Age65AndOver
	// NumAgeGroups is the number of groups, the length of arrays indexed
	// by AgeGroup.
	NumAgeGroups
)

var ageGroupNames = [NumAgeGroups]string{"16-19", "20-24", "25-54", "55-64", "65+"}

func (g AgeGroup) String() string {
	if g < 0 || g >= NumAgeGroups {
		return fmt.Sprintf("AgeGroup(%d)", int(g))
	}
	return ageGroupNames[g]
}

// AgeGroupOf is the group of a PRTAGE, and false under 16: those are not
// in the labor force universe. Top codes (80, 85) fall in 65+.
func AgeGroupOf(age int) (AgeGroup, bool) {
	if age < 0 || age >= len(ageGroupOf) {
		return Age65AndOver, age >= 0
	}
	g := ageGroupOf[age]
	return AgeGroup(max(g, 0)), g >= 0
}

// ageGroupOf is AgeGroupOf by age, -1 under 16: a lookup rather than
// comparisons, as the tally calls it for every record.
var ageGroupOf = func() (t [100]int8) {
	for age := range t {
		switch {
		case age < 16:
			t[age] = -1
		case age < 20:
			t[age] = int8(Age16To19)
		case age < 25:
			t[age] = int8(Age20To24)
		case age < 55:
			t[age] = int8(Age25To54)
		case age < 65:
			t[age] = int8(Age55To64)
		default:
			t[age] = int8(Age65AndOver)
		}
	}
	return t
}()
