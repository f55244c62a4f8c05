package census

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

var monthAbbrevs = [12]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// FileName is the name the Census Bureau gives the basic monthly file of a
// month: "jan20pub.dat.gz" for January 2020.
func FileName(year, month int) string {
	if month < 1 || month > 12 {
		return fmt.Sprintf("month%02d%02dpub.dat.gz", month, year%100)
	}
	return fmt.Sprintf("%s%02dpub.dat.gz", monthAbbrevs[month-1], year%100)
}

// ZipFileName is the name of the zip file of a month: "jan94pub.zip" for
// January 1994. The Census site has one for every month from 1994.
func ZipFileName(year, month int) string {
	name := FileName(year, month)
	return name[:len(name)-len(".dat.gz")] + ".zip"
}

// ParseFileName reads the year and month from the name of a basic monthly
// file, with or without ".gz" and directories, or of its zip:
// "data/jan20pub.dat.gz" and "jan20pub.zip" are January 2020. Two-digit years from 94 on are 19yy, the others 20yy (the
// files in this form begin in 1994).
func ParseFileName(name string) (year, month int, err error) {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, `\`, "/")))
	stem, ok := strings.CutSuffix(strings.TrimSuffix(base, ".gz"), "pub.dat")
	if !ok {
		stem, ok = strings.CutSuffix(base, "pub.zip")
	}
	if ok && len(stem) == 5 {
		for i, m := range monthAbbrevs {
			if stem[:3] != m {
				continue
			}
			yy, err := strconv.Atoi(stem[3:])
			if err != nil || stem[3] < '0' || stem[3] > '9' {
				break
			}
			year = 2000 + yy
			if yy >= 94 {
				year = 1900 + yy
			}
			return year, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("census file name %q: want <mon><yy>pub.dat[.gz] or <mon><yy>pub.zip, such as jan20pub.dat.gz", name)
}

// ParseMonth reads a month as its English abbreviation ("jan", any case)
// or its number ("1" to "12").
func ParseMonth(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, m := range monthAbbrevs {
		if s == m {
			return i + 1, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 12 {
		return n, nil
	}
	return 0, fmt.Errorf("month %q: want jan..dec or 1..12", s)
}
