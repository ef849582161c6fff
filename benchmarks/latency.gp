# SPDX-License-Identifier: LGPL-2.1-or-later
# latency-bench's plot: each round's median echo round trip for the elements
# and the bare webrtcbin client, and the elements' own latency each way (the
# engine's probes). gnuplot -e "data='FILE'; out='OUT.svg'" latency.gp
set terminal svg size 720,400 dynamic font "sans,11"
set output out
set title "Echo round trip through the local server, and the elements' own latency"
set xlabel "round (one fresh call of each client)"
set ylabel "ms"
set yrange [0:*]
set key outside right top
set grid ytics
plot data using 1:(stringcolumn(2) eq "elements" ? $3 : 1/0) with linespoints pt 7 title "echo, elements", \
     data using 1:(stringcolumn(2) eq "bare" ? $3 : 1/0) with linespoints pt 5 title "echo, bare webrtcbin", \
     data using 1:(stringcolumn(2) eq "elements" ? $4 : 1/0) with linespoints pt 9 title "up (probes)", \
     data using 1:(stringcolumn(2) eq "elements" ? $5 : 1/0) with linespoints pt 11 title "down (probes)"
