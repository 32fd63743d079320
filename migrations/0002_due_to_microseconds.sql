PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_tasks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`title` text NOT NULL,
	`person_id` integer NOT NULL,
	`due_to` text NOT NULL,
	FOREIGN KEY (`person_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- due_to was milliseconds since 1970; it becomes UTC text with microseconds, YYYY-MM-DDThh:mm:ss.uuuuuuZ.
-- Values outside years 1..9999, which the old code let in, are clamped to that range.
INSERT INTO `__new_tasks`("id", "title", "person_id", "due_to") SELECT "id", "title", "person_id", CASE WHEN "due_to" < -62135596800000 THEN '0001-01-01T00:00:00.000000Z' WHEN "due_to" > 253402300799999 THEN '9999-12-31T23:59:59.999999Z' ELSE strftime('%Y-%m-%dT%H:%M:%S', ("due_to" - ("due_to" % 1000 + 1000) % 1000) / 1000, 'unixepoch') || '.' || printf('%03d', ("due_to" % 1000 + 1000) % 1000) || '000Z' END FROM `tasks`;--> statement-breakpoint
DROP TABLE `tasks`;--> statement-breakpoint
ALTER TABLE `__new_tasks` RENAME TO `tasks`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `tasks_person_id_idx` ON `tasks` (`person_id`);