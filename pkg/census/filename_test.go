package census

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		year, month int
		want        string
	}{
		{2020, 1, "jan20pub.dat.gz"},
		{2019, 12, "dec19pub.dat.gz"},
		{2005, 5, "may05pub.dat.gz"},
		{1998, 9, "sep98pub.dat.gz"},
	} {
		require.Equal(t, tc.want, FileName(tc.year, tc.month))
		require.Equal(t, tc.want[:len(tc.want)-len(".dat.gz")]+".zip", ZipFileName(tc.year, tc.month))
		year, month, err := ParseFileName(tc.want)
		require.NoError(t, err)
		require.Equal(t, [2]int{tc.year, tc.month}, [2]int{year, month})
	}
}

func TestParseFileName(t *testing.T) {
	for _, tc := range []struct {
		name        string
		year, month int
		wantErr     bool
	}{
		{name: "apr20pub.dat", year: 2020, month: 4},
		{name: "/data/cps/mar20pub.dat.gz", year: 2020, month: 3},
		{name: `C:\cps\MAR20PUB.DAT.GZ`, year: 2020, month: 3},
		{name: "jan94pub.dat.gz", year: 1994, month: 1},
		{name: "jan94pub.zip", year: 1994, month: 1},
		{name: "data/DEC18PUB.ZIP", year: 2018, month: 12},
		{name: "jan94pub.dat.zip", wantErr: true},
		{name: "jan93pub.dat.gz", year: 2093, month: 1},
		{name: "jan20pub.dat.zip", wantErr: true},
		{name: "jan2020pub.dat.gz", wantErr: true},
		{name: "foo20pub.dat.gz", wantErr: true},
		{name: "jan-1pub.dat.gz", wantErr: true},
		{name: "jan+1pub.dat.gz", wantErr: true},
		{name: "jan20.dat.gz", wantErr: true},
		{name: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			year, month, err := ParseFileName(tc.name)
			if tc.wantErr {
				require.ErrorContains(t, err, "census file name")
				require.ErrorContains(t, err, tc.name[max(0, len(tc.name)-10):])
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.year, year)
			require.Equal(t, tc.month, month)
		})
	}
}

func TestParseMonth(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "jan", want: 1}, {in: "DEC", want: 12}, {in: " 7 ", want: 7}, {in: "12", want: 12},
		{in: "13", wantErr: true}, {in: "0", wantErr: true}, {in: "janu", wantErr: true}, {in: "", wantErr: true},
	} {
		got, err := ParseMonth(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseMonth(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMonth(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}
