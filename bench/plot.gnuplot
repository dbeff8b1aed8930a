# ----------------------------------------------------------------------------
# plot.gnuplot — the bench/run chart: per workload, the median ratio to
# glibc (bars) with the min–max spread over the rounds (error bars), wall
# time on the left and peak RSS on the right, one row per thread count.
# Log scale, so 0.5× and 2× are the same distance from the 1.0 line.
# bench/run passes: threads='1 2' datadir='…' outfile='….svg'
# configs='mimalloc jemalloc …' ymin=… ymax=… (fixed, so that a panel where
# everything failed still draws); it writes
# datadir/chart-<threads>-<wall|rss>.dat (workload, then median lo hi per
# configuration; 1e-6, below any y range, where a configuration failed, as
# gnuplot rejects a histogram column with no valid point). outfile *.png gives
# a PNG, anything else an SVG.
# ----------------------------------------------------------------------------
nrows = words(threads)
if (outfile[strlen(outfile)-3:] eq "png") {
    set terminal pngcairo size 1400, 380 * nrows + 60 enhanced font "sans,11" background "white"
} else {
    set terminal svg size 1400, 380 * nrows + 60 dynamic enhanced font "sans,11" background "white"
}
set output outfile
set datafile missing "?"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [ymin:ymax]
set grid ytics lc rgb "#dddddd"
set key top left horizontal font ",9" samplen 1.5
set xtics nomirror font ",10"
set ytics nomirror
set format y "%g×"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#333333" dt 2 front

# one colour per configuration, in bench/run's order
array colours[8] = ["#4e79a7", "#59a14f", "#9c755f", "#f28e2b", \
                    "#edc948", "#e15759", "#b07aa1", "#76b7b2"]

set multiplot layout nrows, 2 \
    title "zonetrace bench: ratio to glibc (median, min–max over rounds; lower is better)" font ",13"
do for [t in threads] {
    set title sprintf("wall time, %s thread%s", t, t eq "1" ? "" : "s")
    plot for [i=1:words(configs)] sprintf("%s/chart-%s-wall.dat", datadir, t) \
        using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
        title word(configs, i) lc rgb colours[(i-1)%8+1]
    set title sprintf("peak RSS, %s thread%s", t, t eq "1" ? "" : "s")
    plot for [i=1:words(configs)] sprintf("%s/chart-%s-rss.dat", datadir, t) \
        using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
        title word(configs, i) lc rgb colours[(i-1)%8+1]
}
unset multiplot
