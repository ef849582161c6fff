# SPDX-License-Identifier: LGPL-2.1-or-later
# The many-calls figure: CPU per call, late or lost audio and memory per
# added call against the number of calls. Made by scripts/bench.sh many from
# the benchmark's --csv output:
#   gnuplot -e "csv='FILE'; out='docs/img/many-calls.png'" benchmarks/many_calls.gp
set terminal pngcairo size 1200,400 font ",10"
set output out
set multiplot layout 1,3 title "many-calls-bench: N calls in one process (2 cores, shared with the local server)"
set key top left
set grid
set logscale x 2
stats csv using 1 nooutput
set xrange [0.8:STATS_max * 1.25]
set xlabel "concurrent calls"
set xtics (1, 8, 16, 32, 64, 96, 128, 192, 256)
set title "CPU per call (ms of CPU per second)"
set yrange [0:*]
plot csv using 1:2 with linespoints lw 2 title "client (the elements)", \
     csv using 1:3 with linespoints lw 2 title "local server (minimal media)"
set title "agent audio at the src (% of 10 ms blocks)"
plot csv using 1:4 with linespoints lw 2 title "late (> 20 ms)", \
     csv using 1:5 with linespoints lw 2 title "lost (holes, silence)", \
     0.5 with lines dt 2 lc rgb "red" title "target 0.5 %"
set title "memory per added call (MiB of RSS; from the second step)"
set key bottom right
set yrange [0:10]
plot csv using 1:6 every ::1 with linespoints lw 2 title "VmRSS growth / calls added", \
     8 with lines dt 2 lc rgb "red" title "target 8 MiB"
unset multiplot
