# bench/report.gp - the chart of bench/run.sh: grouped bars of each
# runtime's time as a ratio to native, one group per program, log scale.
#
#   gnuplot -c report.gp DATA OUT.png NCOLUMNS SUBTITLE
#
# DATA: a header line "program rt1 rt2 ...", then one line per program;
# "?" where a runtime has no result.
data = ARG1
ncols = int(ARG3)

set terminal pngcairo size 1400,650 font "sans,11"
set output ARG2
set title "Run time relative to native (cc -O2), ".ARG4."; lower is better"
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.25:*]
set ylabel "time / native time"
set grid ytics
set xtics rotate by -30 nomirror
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lw 2 front

plot for [c = 2:ncols] data using c:xtic(1) title columnheader(c)
