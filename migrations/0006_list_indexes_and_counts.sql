CREATE TABLE `row_counts` (
	`name` text PRIMARY KEY NOT NULL,
	`count` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `users` ADD `task_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_due_to_idx` ON `tasks` (`due_to`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_title_idx` ON `tasks` (`title`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_person_due_to_idx` ON `tasks` (`person_id`,`due_to`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_person_title_idx` ON `tasks` (`person_id`,`title`,`id`);