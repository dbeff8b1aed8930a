# ----------------------------------------------------------------------------
# plot.gnuplot — the bench/run chart: per workload, the median ratio to
# glibc (bars) with the min–max spread over the rounds (error bars): wall
# time, CPU time and peak RSS side by side, one row per thread count.
# Log scale, so 0.5× and 2× are the same distance from the 1.0 line.
# bench/run passes: threads='1 2' datadir='…' outfile='….svg'
# configs='mimalloc jemalloc …' colours='#4e79a7 …' (one per configuration)
# ymin=… ymax=… (fixed, so that a panel where everything failed still draws);
# it writes
# datadir/chart-<threads>-<wall|cpu|rss>.dat (workload, then median lo hi per
# configuration; 1e-6, below any y range, where a configuration failed, as
# gnuplot rejects a histogram column with no valid point). outfile *.png gives
# a PNG, anything else an SVG.
# ----------------------------------------------------------------------------
nrows = words(threads)
if (outfile[strlen(outfile)-3:] eq "png") {
    set terminal pngcairo size 1800, 400 * nrows + 60 enhanced font "sans,11" background "white"
} else {
    set terminal svg size 1800, 400 * nrows + 60 dynamic enhanced font "sans,11" background "white"
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
set key below horizontal font ",9" samplen 1.5
set xtics nomirror font ",10"
set ytics nomirror
set format y "%g×"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#333333" dt 2 front

heading = "zonetrace bench: ratio to glibc (median, min–max over rounds; lower is better)"
set multiplot layout nrows, 3 title heading font ",13"
do for [t in threads] {
    set title sprintf("wall time, %s thread%s", t, t eq "1" ? "" : "s")
    plot for [i=1:words(configs)] sprintf("%s/chart-%s-wall.dat", datadir, t) \
        using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
        title word(configs, i) lc rgb word(colours, i)
    set title sprintf("CPU time (user + sys), %s thread%s", t, t eq "1" ? "" : "s")
    plot for [i=1:words(configs)] sprintf("%s/chart-%s-cpu.dat", datadir, t) \
        using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
        title word(configs, i) lc rgb word(colours, i)
    set title sprintf("peak RSS, %s thread%s", t, t eq "1" ? "" : "s")
    plot for [i=1:words(configs)] sprintf("%s/chart-%s-rss.dat", datadir, t) \
        using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
        title word(configs, i) lc rgb word(colours, i)
}
unset multiplot
